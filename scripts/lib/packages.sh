# Sourced by scripts/test and scripts/bench. install_missing CMD:PACKAGE ...: installs (Debian)
# the packages whose command is missing. Debian starts the services of packages it installs;
# keepvip's tests and benches run their own keepalived and Prometheus in namespaces, so the
# service of a package installed here is stopped and disabled, and nothing else: a keepalived
# or Prometheus that was already on the machine is left as it was.
install_missing() {
  local need=() pair s
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
  done
  [ ${#need[@]} -gt 0 ] || return 0
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  for s in keepalived prometheus; do
    if [[ " ${need[*]} " == *" $s "* ]] && systemctl disable --now "$s" >/dev/null 2>&1; then
      echo "stopped the $s service Debian started on installing it (this script installed it)"
    fi
  done
}
