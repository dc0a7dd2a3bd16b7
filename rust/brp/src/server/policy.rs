//! Which requests may reach the world at all (docs/server.md, "What a web
//! page can do"): a browser lets any page send requests to 127.0.0.1, so a
//! request that carries an `Origin` other than the server's own or an
//! allowed one, or that names a `Host` no loopback client would, is refused
//! before anything runs. Clients that send no `Origin` (curl, tools, the
//! libbrp clients) are not browsers and pass.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Why a request was refused, or why a setting is not valid.
#[derive(Debug)]
pub(super) struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Origin and Host rules of one server.
#[derive(Debug)]
pub(super) struct Policy {
    bound: SocketAddr,
    /// `allowed_hosts`, lower-case, without a trailing dot.
    hosts: Vec<String>,
    /// `allowed_origins`, lower-case.
    origins: Vec<String>,
}

/// A request the policy lets through.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admitted<'a> {
    /// It carries no `Origin`: not a page's request.
    NoOrigin,
    /// A page of this allowed origin sent it: its answer carries
    /// `Access-Control-Allow-Origin` so that the page may read it.
    Origin(&'a str),
}

impl Policy {
    /// The policy of a server bound to `bound`, with the settings'
    /// `allowed_hosts` and `allowed_origins`.
    pub(super) fn new(
        bound: SocketAddr,
        hosts: &[String],
        origins: &[String],
    ) -> Result<Self, Refused> {
        let hosts = hosts
            .iter()
            .map(|host| {
                let name = host.trim_end_matches('.').to_ascii_lowercase();
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
                valid.then_some(name).ok_or_else(|| {
                    Refused(format!(
                        "allowed_hosts: {:?} is not a host name (no port, no scheme)",
                        crate::params::echo(host)
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let origins = origins
            .iter()
            .map(|origin| {
                let normal = origin.to_ascii_lowercase();
                if normal == "null" {
                    return Err(Refused(
                        "allowed_origins: \"null\" is never allowed: sandboxed frames and \
                         file:// pages send it, so it names no page"
                            .to_owned(),
                    ));
                }
                match split_origin(&normal) {
                    Some(_) => Ok(normal),
                    None => Err(Refused(format!(
                        "allowed_origins: {:?} is not an origin \"<scheme>://<host>[:<port>]\"",
                        crate::params::echo(origin)
                    ))),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            bound,
            hosts,
            origins,
        })
    }

    /// Checks a request's `Host` and `Origin` headers (`None`: absent;
    /// several of either is refused by the caller as unreadable).
    pub(super) fn admit<'a>(
        &self,
        host: Option<&[u8]>,
        origin: Option<&'a [u8]>,
    ) -> Result<Admitted<'a>, Refused> {
        if let Some(host) = host {
            let authority = std::str::from_utf8(host).unwrap_or_default();
            let allowed = split_authority(authority).is_some_and(|(name, _)| self.host(name));
            if !allowed {
                return Err(Refused(format!(
                    "Host {:?} is not this server's: add it to allowed_hosts to serve it",
                    crate::params::echo(&String::from_utf8_lossy(host))
                )));
            }
        }
        let Some(origin) = origin else {
            return Ok(Admitted::NoOrigin);
        };
        let text = std::str::from_utf8(origin).unwrap_or_default();
        if self.origin(text) {
            return Ok(Admitted::Origin(text));
        }
        Err(Refused(format!(
            "Origin {:?} may not use this server: add it to allowed_origins to let its pages in",
            crate::params::echo(&String::from_utf8_lossy(origin))
        )))
    }

    /// Whether a request may name host `name` (no port).
    fn host(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let literal = name.strip_prefix('[').and_then(|n| n.strip_suffix(']'));
        if let Ok(ip) = literal.unwrap_or(&name).parse::<IpAddr>() {
            // An address cannot be rebound to another machine.
            let bound = self.bound.ip();
            return ip.is_loopback() || ip == bound || bound.is_unspecified();
        }
        name == "localhost" || name.ends_with(".localhost") || self.hosts.contains(&name)
    }

    /// Whether pages of `origin` may send requests: the server's own (a
    /// page it could have served: `http://`, a host it answers to, its
    /// port) or one of `allowed_origins`.
    fn origin(&self, origin: &str) -> bool {
        let normal = origin.to_ascii_lowercase();
        if normal == "null" {
            return false;
        }
        if self.origins.contains(&normal) {
            return true;
        }
        let Some(("http", authority)) = split_origin(&normal) else {
            return false;
        };
        split_authority(authority)
            .is_some_and(|(name, port)| port.unwrap_or(80) == self.bound.port() && self.host(name))
    }
}

/// `"<scheme>://<authority>"` → its scheme and authority, if it is one.
fn split_origin(origin: &str) -> Option<(&str, &str)> {
    let (scheme, authority) = origin.split_once("://")?;
    let scheme_ok = !scheme.is_empty()
        && (scheme.bytes()).all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let authority_ok = split_authority(authority).is_some();
    (scheme_ok && authority_ok).then_some((scheme, authority))
}

/// `"<host>[:<port>]"` (the host may be `[<IPv6>]`) → host and port.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match authority.rfind(':') {
        Some(colon) if !authority[colon..].contains(']') => {
            let port = authority[colon + 1..].parse::<u16>().ok()?;
            (&authority[..colon], Some(port))
        }
        _ => (authority, None),
    };
    let valid = !host.is_empty()
        && (host.bytes()).all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b))
        && (host.starts_with('[') == host.ends_with(']'))
        && (host.starts_with('[') || !host.contains(':'));
    valid.then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(bound: &str, hosts: &[&str], origins: &[&str]) -> Policy {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Policy::new(bound.parse().unwrap(), &strings(hosts), &strings(origins)).unwrap()
    }

    fn admits(policy: &Policy, host: Option<&str>, origin: Option<&str>) -> bool {
        (policy.admit(host.map(str::as_bytes), origin.map(str::as_bytes))).is_ok()
    }

    #[test]
    fn hosts_are_loopback_the_bound_address_or_allowed() {
        let local = policy("127.0.0.1:15702", &["tool.lan"], &[]);
        for host in [
            "127.0.0.1:15702",
            "127.0.0.2",
            "localhost:15702",
            "LOCALHOST.",
            "a.localhost",
            "[::1]:15702",
            "tool.lan:1",
        ] {
            assert!(admits(&local, Some(host), None), "{host}");
        }
        for host in [
            "evil.example:15702",
            "192.168.1.2:15702",
            "localhost.evil.example",
            "",
            "[::1",
            "a b",
            "127.0.0.1:99999",
        ] {
            assert!(!admits(&local, Some(host), None), "{host}");
        }
        assert!(admits(&local, None, None), "HTTP/1.0 may omit Host");
        let any = policy("0.0.0.0:15702", &[], &[]);
        assert!(admits(&any, Some("192.168.1.2:15702"), None));
        assert!(!admits(&any, Some("evil.example:15702"), None));
    }

    #[test]
    fn origins_are_the_servers_own_or_allowed_and_never_null() {
        let local = policy(
            "127.0.0.1:15702",
            &[],
            &["https://tool.example", "vscode-webview://abc"],
        );
        let host = Some("127.0.0.1:15702");
        for origin in [
            "http://127.0.0.1:15702",
            "http://localhost:15702",
            "HTTPS://TOOL.EXAMPLE",
            "vscode-webview://abc",
        ] {
            assert!(admits(&local, host, Some(origin)), "{origin}");
        }
        for origin in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:8000",
            "http://127.0.0.1",
            "https://127.0.0.1:15702",
            "https://tool.example:444",
            "",
            "garbage",
        ] {
            assert!(!admits(&local, host, Some(origin)), "{origin}");
        }
        assert_eq!(
            local
                .admit(host.map(str::as_bytes), Some(b"vscode-webview://abc"))
                .unwrap(),
            Admitted::Origin("vscode-webview://abc")
        );
    }

    #[test]
    fn settings_that_name_no_origin_or_host_are_refused() {
        let bound = "127.0.0.1:0".parse().unwrap();
        for origins in [&["null"][..], &["*"], &["http://"], &["tool.example"]] {
            let origins: Vec<String> = origins.iter().map(|s| s.to_string()).collect();
            let error = Policy::new(bound, &[], &origins).unwrap_err();
            assert!(error.0.contains("allowed_origins"), "{error}");
        }
        for hosts in [&[""][..], &["tool.lan:80"], &["http://tool.lan"]] {
            let hosts: Vec<String> = hosts.iter().map(|s| s.to_string()).collect();
            let error = Policy::new(bound, &hosts, &[]).unwrap_err();
            assert!(error.0.contains("allowed_hosts"), "{error}");
        }
    }
}
