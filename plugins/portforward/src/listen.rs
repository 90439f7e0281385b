//! The local side: the addresses given with `--address`, bound on one port for all of them.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpListener;

use kubectl_mlflow_core::Failure;

/// One `--address`: an IP address, or `localhost` (127.0.0.1 and, where the machine has it, ::1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    Ip(IpAddr),
    Localhost,
}

/// clap's parser of `--address`.
pub fn parse_address(text: &str) -> Result<Address, String> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(Address::Localhost);
    }
    let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    bare.parse::<IpAddr>()
        .map(Address::Ip)
        .map_err(|_| "not an IP address (use e.g. 127.0.0.1, 0.0.0.0, ::1 or localhost)".to_string())
}

/// Binds every address on `port` (0: the port the first one gets). `localhost`'s ::1 is skipped
/// where the machine has no IPv6 loopback, as kubectl does.
pub async fn bind(addresses: &[Address], port: u16) -> Result<Vec<TcpListener>, Failure> {
    let mut listeners = Vec::new();
    let mut port = port;
    for address in addresses {
        let (ips, optional_v6) = match address {
            Address::Ip(ip) => (vec![*ip], false),
            Address::Localhost => (vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)], true),
        };
        for ip in ips {
            let local = SocketAddr::new(ip, port);
            match TcpListener::bind(local).await {
                Ok(listener) => {
                    port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
                    listeners.push(listener);
                }
                Err(err) if optional_v6 && ip.is_ipv6() && err.kind() == ErrorKind::AddrNotAvailable => {}
                Err(err) => return Err(bind_error(local, err)),
            }
        }
    }
    Ok(listeners)
}

fn bind_error(local: SocketAddr, err: std::io::Error) -> Failure {
    match err.kind() {
        ErrorKind::AddrInUse => Failure::failed(format!(
            "{local} is already in use (another port-forward?): choose another --port, or --port 0 for a free one"
        )),
        ErrorKind::AddrNotAvailable => Failure::input(format!(
            "--address {}: not an address of this machine (use e.g. 127.0.0.1 or 0.0.0.0)",
            local.ip()
        )),
        ErrorKind::PermissionDenied => Failure::failed(format!(
            "cannot listen on {local}: permission denied (ports below 1024 need privileges: choose another --port)"
        )),
        _ => Failure::failed(format!("cannot listen on {local}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_address("127.0.0.1"), Ok(Address::Ip("127.0.0.1".parse().unwrap())));
        assert_eq!(parse_address("[::1]"), Ok(Address::Ip("::1".parse().unwrap())));
        assert_eq!(parse_address("LocalHost"), Ok(Address::Localhost));
        assert!(parse_address("example.com").is_err());
        assert!(parse_address("127.0.0.1:5000").is_err());
    }

    #[tokio::test]
    async fn port_zero_gives_every_address_the_same_free_port() {
        let listeners = bind(&[Address::Localhost, Address::Ip("127.0.0.2".parse().unwrap())], 0).await.unwrap();
        let ports: Vec<u16> = listeners.iter().map(|l| l.local_addr().unwrap().port()).collect();
        assert!(ports[0] != 0 && ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    }

    #[tokio::test]
    async fn a_busy_port_is_an_operation_failure() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = bind(&[Address::Ip("127.0.0.1".parse().unwrap())], port).await.unwrap_err();
        assert!(matches!(&err, Failure::Failed(m) if m.contains("is already in use")), "{err:?}");
    }
}
