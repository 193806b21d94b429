//! Money and price display: pure, integer-only.
//!
//! Amounts are integer minor units with their currency, never floats. The
//! per-month figure of an annual plan is computed (half-up, to the
//! currency's minor unit), never typed in.

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("currency must be a three-letter ISO 4217 code such as USD, got {0:?}")]
    BadCurrency(String),
    #[error("amount must not be negative")]
    Negative,
    #[error("{0:?} is not an amount in {1} (write it like {2})")]
    BadAmount(String, String, String),
    #[error("Stripe cannot charge {0}: {1}")]
    NotChargeable(String, &'static str),
}

/// An ISO 4217 currency code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(s: &str) -> Result<Currency, MoneyError> {
        let up = s.trim().to_ascii_uppercase();
        let b = up.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency([b[0], b[1], b[2]]))
        } else {
            Err(MoneyError::BadCurrency(s.to_string()))
        }
    }

    pub fn code(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point (ISO 4217).
    pub fn exponent(&self) -> u32 {
        match self.code() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    /// The symbol and whether it goes before the number; `None` for
    /// currencies without an unambiguous symbol (shown by ISO code).
    fn symbol(&self) -> Option<(&'static str, bool)> {
        Some(match self.code() {
            "USD" => ("$", true),
            "EUR" => ("€", true),
            "GBP" => ("£", true),
            "JPY" => ("¥", true),
            "INR" => ("₹", true),
            "KRW" => ("₩", true),
            "CAD" => ("CA$", true),
            "AUD" => ("A$", true),
            "NZD" => ("NZ$", true),
            "CHF" => ("CHF ", true),
            _ => return None,
        })
    }
}

/// An amount in minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money { minor, currency })
    }

    /// Reads an amount as people write it, in major units: "14",
    /// "14.00", "8.5", "1,200" (JPY), "4.500" (KWD). No more decimals than
    /// the currency has; no floating point.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let exp = currency.exponent() as usize;
        let example = if exp == 0 {
            "1200".to_string()
        } else {
            format!("14.{}", "0".repeat(exp))
        };
        let bad =
            || MoneyError::BadAmount(text.to_string(), currency.code().into(), example.clone());
        let t = text.trim().replace(',', "");
        if t.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > exp {
            return Err(bad());
        }
        if t.contains('.') && frac.is_empty() {
            return Err(bad());
        }
        let frac = format!("{frac:0<exp$}");
        let minor = format!("{whole}{frac}").parse::<i64>().map_err(|_| bad())?;
        Money::new(minor, currency)
    }

    /// The `unit_amount` Stripe expects, where Stripe's rules differ from
    /// ISO 4217: ISK is sent as two-decimal (×100); MGA is zero-decimal at
    /// Stripe (whole ariary only); the three-decimal currencies must end
    /// in 0.
    pub fn stripe_unit_amount(&self) -> Result<i64, MoneyError> {
        let code = self.currency.code();
        let refuse = |why| Err(MoneyError::NotChargeable(self.display(), why));
        match code {
            "ISK" => self
                .minor
                .checked_mul(100)
                .map_or_else(|| refuse("the amount is too large"), Ok),
            "MGA" if self.minor % 100 != 0 => refuse("Stripe takes whole ariary only"),
            "MGA" => Ok(self.minor / 100),
            _ if self.currency.exponent() == 3 && self.minor % 10 != 0 => {
                refuse("the last of the three decimals must be 0")
            }
            _ => Ok(self.minor),
        }
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The monthly equivalent of a yearly amount: a twelfth, rounded half
    /// up to the minor unit (10000 cents a year → 833 cents a month).
    pub fn per_month_of_year(&self) -> Money {
        Money {
            minor: self.minor.saturating_add(6) / 12,
            currency: self.currency,
        }
    }

    /// "$14", "$8.33", "¥1,200", "KWD 4.500", "€9.99". Whole amounts drop
    /// their zero decimals; others show every minor digit.
    pub fn display(&self) -> String {
        let exp = self.currency.exponent();
        let unit = 10i64.pow(exp);
        let whole = group(self.minor / unit);
        let frac = self.minor % unit;
        let number = if frac == 0 || exp == 0 {
            whole
        } else {
            format!("{whole}.{frac:0width$}", width = exp as usize)
        };
        match self.currency.symbol() {
            Some((sym, true)) => format!("{sym}{number}"),
            Some((sym, false)) => format!("{number}{sym}"),
            None => format!("{} {number}", self.currency.code()),
        }
    }
}

fn group(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How often a plan renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Month,
    Year,
}

impl Interval {
    /// "month" or "year", as stored and as Stripe's `recurring[interval]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Month => "month",
            Interval::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<Interval> {
        match s {
            "month" | "monthly" => Some(Interval::Month),
            "year" | "yearly" | "annual" | "annually" => Some(Interval::Year),
            _ => None,
        }
    }
}

/// The offer line for a set of plans: "$14 monthly or $100 annually
/// ($8.33/month)".
pub mod subscription;

pub fn offer_line(plans: &[(Money, Interval)]) -> String {
    plans
        .iter()
        .map(|(m, i)| match i {
            Interval::Month => format!("{} monthly", m.display()),
            Interval::Year => format!(
                "{} annually ({}/month)",
                m.display(),
                m.per_month_of_year().display()
            ),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(minor: i64, c: &str) -> Money {
        Money::new(minor, Currency::parse(c).unwrap()).unwrap()
    }

    #[test]
    fn amounts_display_in_their_currency() {
        let table = [
            (1400, "USD", "$14"),
            (999, "USD", "$9.99"),
            (833, "usd", "$8.33"),
            (5, "EUR", "€0.05"),
            (123456789, "GBP", "£1,234,567.89"),
            (1200, "JPY", "¥1,200"),
            (4500, "KWD", "KWD 4.500"),
            (4000, "KWD", "KWD 4"),
            (1000, "SEK", "SEK 10"),
            (1050, "CHF", "CHF 10.50"),
            (0, "USD", "$0"),
        ];
        for (minor, cur, want) in table {
            assert_eq!(m(minor, cur).display(), want, "{minor} {cur}");
        }
    }

    #[test]
    fn per_month_rounds_half_up_to_the_minor_unit() {
        let table = [
            (10000, "USD", 833),  // 833.33
            (10002, "USD", 834),  // 833.5 → 834
            (9999, "USD", 833),   // 833.25
            (12000, "JPY", 1000), // zero-decimal
            (1001, "JPY", 83),    // 83.42
            (1002, "JPY", 84),    // 83.5 → 84
            (50000, "KWD", 4167), // three decimals: 4166.67
        ];
        for (yearly, cur, monthly) in table {
            assert_eq!(
                m(yearly, cur).per_month_of_year().minor(),
                monthly,
                "{yearly} {cur}"
            );
        }
    }

    #[test]
    fn the_offer_line_reads_as_the_product_page_does() {
        assert_eq!(
            offer_line(&[
                (m(1400, "USD"), Interval::Month),
                (m(10000, "USD"), Interval::Year)
            ]),
            "$14 monthly or $100 annually ($8.33/month)"
        );
    }

    #[test]
    fn amounts_parse_from_major_units_without_floats() {
        let cases: &[(&str, &str, Option<i64>)] = &[
            ("14", "USD", Some(1400)),
            ("14.00", "USD", Some(1400)),
            ("8.5", "USD", Some(850)),
            ("0.07", "EUR", Some(7)),
            ("1,200", "JPY", Some(1200)),
            ("1200.5", "JPY", None),
            ("4.500", "KWD", Some(4500)),
            ("4.5", "KWD", Some(4500)),
            ("14.001", "USD", None),
            ("14.", "USD", None),
            (".5", "USD", None),
            ("abc", "USD", None),
            ("1e3", "USD", None),
            ("", "USD", None),
            ("99999999999999999999", "USD", None),
        ];
        for (text, cur, want) in cases {
            let got = Money::parse(text, Currency::parse(cur).unwrap())
                .ok()
                .map(|m| m.minor());
            assert_eq!(got, *want, "{text} {cur}");
        }
        assert_eq!(
            Money::parse("-3", Currency::parse("USD").unwrap()),
            Err(MoneyError::Negative)
        );
    }

    #[test]
    fn amounts_sent_to_stripe_follow_stripes_currency_rules() {
        let cases: &[(i64, &str, Option<i64>)] = &[
            (1400, "USD", Some(1400)),
            (1200, "JPY", Some(1200)),
            (500, "ISK", Some(50_000)),
            (150_000, "MGA", Some(1500)),
            (150_050, "MGA", None),
            (4500, "KWD", Some(4500)),
            (4505, "KWD", None),
            (990, "TND", Some(990)),
        ];
        for (minor, cur, want) in cases {
            let got = m(*minor, cur).stripe_unit_amount().ok();
            assert_eq!(got, *want, "{minor} {cur}");
        }
    }

    #[test]
    fn bad_currencies_and_negative_amounts_are_refused() {
        for bad in ["US", "USDX", "U$D", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Money::new(-1, Currency::parse("USD").unwrap()),
            Err(MoneyError::Negative)
        );
    }
}
