//! Calendar arithmetic for the few dates factory writes and reads (RFC 3339 in UTC, days): the
//! civil-date conversions of H. Hinnant's well-known algorithm, without a date library.

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d): (i64, i64, i64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    if parts.next().is_some()
        || !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch.
pub fn rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    rfc3339_secs(text)
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ`, exactly that form (the one factory
/// writes): any other text is None, so that two times that parse compare as their strings do.
pub fn rfc3339_secs(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
        || digits.iter().any(|&i| !b[i].is_ascii_digit())
    {
        return None;
    }
    let day = parse_day(text.get(..10)?)?;
    let h: i64 = text.get(11..13)?.parse().ok()?;
    let m: i64 = text.get(14..16)?.parse().ok()?;
    let s: i64 = text.get(17..19)?.parse().ok()?;
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(day * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for secs in [0, 951_782_400, 1_767_607_200, 4_102_444_799] {
            assert_eq!(rfc3339_secs(&rfc3339(secs)), Some(secs));
        }
        assert_eq!(rfc3339(1_767_607_200), "2026-01-05T10:00:00Z");
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(parse_day("2026-13-01"), None);
        for odd in [
            "2026-12-02~04:28:10Z",
            "2026-12-02T04:28:10",
            "2026-12-02T04:28:10.5Z",
            "2026-12-02T24:00:00Z",
            "2026-12-02T04-28-10Z",
            "2026-12-02T04:28:10Z ",
        ] {
            assert_eq!(rfc3339_secs(odd), None, "{odd}");
        }
    }
}
