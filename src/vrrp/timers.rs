//! RFC timer arithmetic, as keepalived computes it (microsecond precision).

use std::time::Duration;

/// Skew_Time. v2 (RFC 3768): (256 - priority) / 256 seconds, whatever the interval.
/// v3 (RFC 5798): ((256 - priority) × Master_Adver_Interval) / 256.
pub fn skew_time(version: u8, priority: u8, master_adv_int_cs: u16) -> Duration {
    skew_for(version, 256 - u64::from(priority), master_adv_int_cs)
}

/// keepalived's smallest skew (priority value 1), used when configured `state MASTER`.
pub fn skew_min(version: u8, master_adv_int_cs: u16) -> Duration {
    skew_for(version, 1, master_adv_int_cs)
}

fn skew_for(version: u8, weight: u64, adv_cs: u16) -> Duration {
    if version == 3 {
        // weight × cs × 10 000 µs / 256, in keepalived's exact integer form.
        Duration::from_micros(weight * u64::from(adv_cs) * 625 / 16)
    } else {
        Duration::from_micros(weight * 1_000_000 / 256)
    }
}

/// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time.
pub fn master_down_interval(version: u8, priority: u8, master_adv_int_cs: u16) -> Duration {
    3 * centis(master_adv_int_cs) + skew_time(version, priority, master_adv_int_cs)
}

pub fn centis(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_values() {
        // v2, 1 s adverts: priority 200 → 3 + 56/256 s; 100 → 3 + 156/256 s.
        assert_eq!(master_down_interval(2, 200, 100), Duration::from_micros(3_218_750));
        assert_eq!(master_down_interval(2, 100, 100), Duration::from_micros(3_609_375));
        // v2 skew does not scale with the interval.
        assert_eq!(skew_time(2, 100, 500), Duration::from_micros(609_375));
        // v3 skew scales: 0.1 s adverts, priority 100 → 0.3 + 0.0609375 s.
        assert_eq!(master_down_interval(3, 100, 10), Duration::from_micros(360_937));
        assert_eq!(skew_time(3, 255, 100), Duration::from_micros(3_906));
        assert_eq!(skew_min(2, 100), Duration::from_micros(3_906));
    }
}
