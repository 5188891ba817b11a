//! `RUN --device=<name>[,required]`: a CDI device for one command, parsed as upstream's
//! `ParseDevice` does (docker/dockerfile 1.14-labs, stable in 1.27).

/// One parsed `--device`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSpec {
    /// The CDI name: `vendor.com/class`, `vendor.com/class=name`, `…=*`, or a class.
    pub name: String,
    /// The build fails when the worker cannot provide it (otherwise it is skipped).
    pub required: bool,
}

/// Parses one `--device` value. The first field without a known key is the name, so
/// `vendor.com/gpu=all` names a device rather than setting a key `vendor.com/gpu`.
pub fn parse(text: &str) -> Result<DeviceSpec, String> {
    let mut d = DeviceSpec {
        name: String::new(),
        required: false,
    };
    for field in crate::mounts::split_csv(text) {
        let field = field.as_str();
        let Some((key, value)) = field.split_once('=') else {
            if field.eq_ignore_ascii_case("required") {
                d.required = true;
            } else if d.name.is_empty() {
                d.name = field.to_owned();
            } else {
                return Err(format!("invalid field '{field}' must be a key=value pair"));
            }
            continue;
        };
        match key.to_ascii_lowercase().as_str() {
            "name" => {
                if !d.name.is_empty() {
                    return Err(format!("device name already set to {}", d.name));
                }
                d.name = value.to_owned();
            }
            "required" => {
                d.required = match value {
                    "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                    "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                    _ => return Err(format!("invalid value for required: {value}")),
                }
            }
            _ if d.name.is_empty() => d.name = field.to_owned(),
            other => return Err(format!("unexpected key '{other}' in '{field}'")),
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_and_required() {
        let d = parse("vendor1.com/device=foo,required").unwrap();
        assert_eq!(
            (d.name.as_str(), d.required),
            ("vendor1.com/device=foo", true)
        );
        let d = parse("name=class1,required=false").unwrap();
        assert_eq!((d.name.as_str(), d.required), ("class1", false));
        assert_eq!(
            parse("nvidia.com/gpu=all").unwrap().name,
            "nvidia.com/gpu=all"
        );
    }

    #[test]
    fn errors_as_upstream() {
        assert_eq!(
            parse("a,b").unwrap_err(),
            "invalid field 'b' must be a key=value pair"
        );
        assert_eq!(
            parse("a,name=b").unwrap_err(),
            "device name already set to a"
        );
        assert_eq!(
            parse("a,required=maybe").unwrap_err(),
            "invalid value for required: maybe"
        );
        assert_eq!(parse("a,x=y").unwrap_err(), "unexpected key 'x' in 'x=y'");
    }
}
