# The client's ping replies (every 10 ms) around each event: a gap is time the VIP was unreachable.
set terminal pngcairo size 1200,700 font ",10"
set output "bench/timeline.png"
set multiplot layout 2,2 title "Client replies from the VIP around the event (t = 0), one dot per reply"
set yrange [-0.6:1.6]
set ytics ("keepalived" 0, "keepvip" 1)
set xlabel "seconds after the event"
set grid xtics
unset key
do for [k in "failover_v2 failover_v3 handover_100 handover_200"] {
  if (k eq "failover_v2") { set title "unplanned: SIGKILL + cable cut, VRRPv2 advert 1 s"; set xrange [-0.3:4.2] }
  if (k eq "failover_v3") { set title "unplanned: SIGKILL + cable cut, VRRPv3 advert 0.1 s"; set xrange [-0.2:0.8] }
  if (k eq "handover_100") { set title "planned: docker stop (SIGTERM), backup priority 100"; set xrange [-0.2:1.0] }
  if (k eq "handover_200") { set title "planned: docker stop (SIGTERM), backup priority 200"; set xrange [-0.2:1.0] }
  plot "bench/timeline-".k."-keepvip.dat" using 1:(1) with points pt 7 ps 0.4 lc rgb "#1b7837", \
       "bench/timeline-".k."-keepalived.dat" using 1:(0) with points pt 7 ps 0.4 lc rgb "#762a83"
}
unset multiplot
