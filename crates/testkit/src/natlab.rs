//! A lab of real NATs in Linux network namespaces, for testing calls that must cross them.
//!
//! ```text
//!   host A 10.0.1.2 ── 10.0.1.1 router A 198.18.1.2 ──┐
//!                                                     ├── internet: STUN server 198.18.0.1:3478
//!   host B 10.0.2.2 ── 10.0.2.1 router B 198.18.2.2 ──┘
//! ```
//! Each router masquerades its host behind its WAN address (`iptables -t nat ... MASQUERADE`,
//! so the kernel's connection tracking does the NAT) and drops whatever arrives unsolicited on
//! its WAN: a datagram reaches a host only as the reply to one the host sent to that exact
//! address and port (address- and port-dependent filtering), so two hosts need hole punching to
//! talk. The internet namespace routes between the two WAN links and knows nothing of the
//! private networks. The STUN server is Debian's coturn in STUN-only mode.
//!
//! Namespace names carry the process id and a counter, so labs in parallel test binaries never
//! collide, and a lab deletes only the namespaces it made. Needs root (or `CAP_SYS_ADMIN` and
//! `CAP_NET_ADMIN`), iproute2, iptables and coturn; [`NatLabError::NotPermitted`] says when the
//! system refuses, so a test can print it and skip.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sched::{setns, CloneFlags};

/// Where the STUN server listens, inside the internet namespace.
const STUN_SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 3478);
/// How long [`NatLab::start`] waits for the STUN server to answer both hosts.
const STUN_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// The hint for a program that is not installed.
const INSTALL_HINT: &str = "run .ci/setup (it installs iproute2, iptables and coturn)";

/// Why a lab could not be built or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatLabError {
    /// The system refuses to make namespaces, links or NAT rules (not root, a sandbox), or
    /// cannot (a kernel without network namespaces or NAT).
    #[error("this machine cannot host network namespaces with NAT ({0})")]
    NotPermitted(String),
    /// An external command failed; `command` is the whole command line.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line as run.
        command: String,
        /// What it printed on stderr (or why it could not start).
        stderr: String,
    },
    /// The STUN server did not start or did not answer as a real one behind a NAT would.
    #[error("STUN server: {0}")]
    StunServer(String),
    /// A system call made for the lab failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: io::Error,
    },
}

/// One of the lab's two private hosts, each behind its own NAT router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    /// Host A, 10.0.1.2 behind router A (WAN 198.18.1.2).
    A,
    /// Host B, 10.0.2.2 behind router B (WAN 198.18.2.2).
    B,
}

impl Host {
    /// The third octet of this side's addresses: 10.0.N.x inside, 198.18.N.x outside.
    fn subnet(self) -> u8 {
        match self {
            Host::A => 1,
            Host::B => 2,
        }
    }

    fn index(self) -> usize {
        match self {
            Host::A => 0,
            Host::B => 1,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Host::A => "a",
            Host::B => "b",
        }
    }
}

/// A running lab: five namespaces (internet, two routers, two hosts) and a STUN server.
/// Dropping it kills the STUN server and deletes the namespaces.
#[derive(Debug)]
pub struct NatLab {
    /// Prefix of every namespace name: `sotto-<pid>-<n>`.
    id: String,
    /// The namespaces this lab made, in order, so drop deletes exactly these.
    made: Vec<String>,
    coturn: Option<Child>,
    /// Scratch directory for the STUN server's log, pid file and database.
    dir: PathBuf,
    /// The last octet of each router's WAN address (A, B): 2, one more per renumbering.
    wan_host: [u8; 2],
}

impl NatLab {
    /// Builds the lab and waits until the STUN server answers both hosts, each seeing its
    /// router's WAN address as its mapped address.
    pub fn start() -> Result<NatLab, NatLabError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "sotto-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(format!("{id}-natlab"));
        let mut lab = NatLab {
            id,
            made: Vec::new(),
            coturn: None,
            dir,
            wan_host: [2, 2],
        };
        // On any error below, dropping the partial lab removes what it made so far.
        lab.build_network()?;
        lab.start_stun_server()?;
        Ok(lab)
    }

    /// The STUN server's public address.
    pub fn stun_server(&self) -> SocketAddr {
        STUN_SERVER
    }

    /// Host A's private address (10.0.1.2).
    pub fn host_a_ip(&self) -> Ipv4Addr {
        self.host_ip(Host::A)
    }

    /// Host B's private address (10.0.2.2).
    pub fn host_b_ip(&self) -> Ipv4Addr {
        self.host_ip(Host::B)
    }

    /// `host`'s private address, which nobody outside its router can reach.
    pub fn host_ip(&self, host: Host) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, host.subnet(), 2)
    }

    /// The public (WAN) address of the router in front of `host`: what the STUN server and the
    /// other host see as `host`'s address.
    pub fn router_wan_ip(&self, host: Host) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, host.subnet(), self.wan_host[host.index()])
    }

    /// Gives the router in front of `host` a new public address, as when a phone moves to
    /// another network: the old address is gone (and with it every NAT mapping on it), and
    /// `host`'s traffic leaves from the new one. Returns the new address.
    pub fn renumber(&mut self, host: Host) -> Result<Ipv4Addr, NatLabError> {
        let router = self.ns(&format!("r{}", host.suffix()));
        let (k, old) = (host.subnet(), self.wan_host[host.index()]);
        let new = old
            .checked_add(1)
            .filter(|&n| n < 255)
            .ok_or_else(|| NatLabError::Command {
                command: format!("renumber router {host:?}"),
                stderr: format!("no address left in 198.18.{k}.0/24"),
            })?;
        // Deleting the address takes the routes through it and the kernel forgets the
        // masqueraded connections that used it.
        ip_in(&router, &format!("addr del 198.18.{k}.{old}/24 dev wan"))?;
        ip_in(&router, &format!("addr add 198.18.{k}.{new}/24 dev wan"))?;
        ip_in(&router, &format!("route add default via 198.18.{k}.1"))?;
        self.wan_host[host.index()] = new;
        Ok(self.router_wan_ip(host))
    }

    /// The name of `host`'s network namespace (for `ip netns exec`).
    pub fn namespace(&self, host: Host) -> String {
        self.ns(&format!("h{}", host.suffix()))
    }

    /// A command that runs `program` in `host`'s namespace (`ip netns exec <ns> program`);
    /// add its arguments, then spawn it as usual.
    pub fn command(&self, host: Host, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec"])
            .arg(self.namespace(host))
            .arg(program);
        command
    }

    /// A UDP socket on an ephemeral port of `host` (bound to all its addresses), usable from
    /// this process like any other socket.
    pub fn udp_socket(&self, host: Host) -> Result<UdpSocket, NatLabError> {
        self.run_in(host, || UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)))
    }

    /// Runs `f` inside `host`'s namespace (on a thread of its own): the sockets it creates
    /// and the interfaces it sees are that host's, so an endpoint made there lives behind the
    /// host's NAT for good.
    pub fn run_in<T: Send>(
        &self,
        host: Host,
        f: impl FnOnce() -> io::Result<T> + Send,
    ) -> Result<T, NatLabError> {
        in_namespace(&self.namespace(host), f)
    }

    /// What the STUN server has logged so far (for failure messages).
    pub fn stun_server_log(&self) -> String {
        fs::read_to_string(self.dir.join("turnserver.log")).unwrap_or_default()
    }

    fn ns(&self, role: &str) -> String {
        format!("{}-{role}", self.id)
    }

    fn build_network(&mut self) -> Result<(), NatLabError> {
        let inet = self.ns("inet");
        self.add_namespace(&inet)?;
        // The STUN server's address sits on the internet namespace's loopback, reached over
        // whichever WAN link a packet comes in on.
        ip_in(&inet, "addr add 198.18.0.1/32 dev lo")?;
        enable_forwarding(&inet)?;
        for host in [Host::A, Host::B] {
            let (k, x) = (host.subnet(), host.suffix());
            let router = self.ns(&format!("r{x}"));
            let private = self.namespace(host);
            self.add_namespace(&router)?;
            self.add_namespace(&private)?;
            // Each pair is created inside its namespaces, so its names never clash with the
            // machine's interfaces or another lab's.
            ip_in(
                &router,
                &format!("link add wan type veth peer name to-{x} netns {inet}"),
            )?;
            ip_in(&inet, &format!("addr add 198.18.{k}.1/24 dev to-{x}"))?;
            ip_in(&inet, &format!("link set to-{x} up"))?;
            ip_in(&router, &format!("addr add 198.18.{k}.2/24 dev wan"))?;
            ip_in(&router, "link set wan up")?;
            ip_in(&router, &format!("route add default via 198.18.{k}.1"))?;
            ip_in(
                &router,
                &format!("link add lan type veth peer name eth0 netns {private}"),
            )?;
            ip_in(&router, &format!("addr add 10.0.{k}.1/24 dev lan"))?;
            ip_in(&router, "link set lan up")?;
            ip_in(&private, &format!("addr add 10.0.{k}.2/24 dev eth0"))?;
            ip_in(&private, "link set eth0 up")?;
            ip_in(&private, &format!("route add default via 10.0.{k}.1"))?;
            enable_forwarding(&router)?;
            iptables(&router, "-t nat -A POSTROUTING -o wan -j MASQUERADE")?;
            // Drop unsolicited datagrams rather than let the router answer them: a dropped
            // packet leaves no connection-tracking entry behind, whereas an accepted one would
            // hold the port and make the host's later outgoing flow to that peer be mapped to
            // a different port, which real NATs in front of a punching host don't do (and
            // which defeats hole punching: the unit test below fails without this rule).
            iptables(
                &router,
                "-A INPUT -i wan -m conntrack --ctstate NEW -j DROP",
            )?;
        }
        Ok(())
    }

    /// Creates namespace `name` with its loopback up, and remembers it for drop.
    fn add_namespace(&mut self, name: &str) -> Result<(), NatLabError> {
        ip(&["netns", "add", name])?;
        self.made.push(name.to_owned());
        ip_in(name, "link set lo up")
    }

    fn start_stun_server(&mut self) -> Result<(), NatLabError> {
        let io_err = |what: String| move |source| NatLabError::Io { what, source };
        fs::create_dir_all(&self.dir).map_err(io_err(format!("create {}", self.dir.display())))?;
        let log_path = self.dir.join("turnserver.log");
        let log =
            File::create(&log_path).map_err(io_err(format!("create {}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(io_err("clone log handle".to_owned()))?;
        let ip_arg = STUN_SERVER.ip().to_string();
        let port_arg = STUN_SERVER.port().to_string();
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns("inet"), "turnserver"])
            // -n: no configuration file, only these flags.
            .args(["-n", "--stun-only", "--no-cli", "--no-tls", "--no-dtls"])
            .args(["--listening-ip", &ip_arg, "--listening-port", &port_arg])
            .args(["--log-file", "stdout", "--simple-log"])
            // Its own pid file and database, so parallel labs share no files.
            .arg("--pidfile")
            .arg(self.dir.join("turnserver.pid"))
            .arg("--userdb")
            .arg(self.dir.join("turndb"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let child = command.spawn().map_err(|e| NatLabError::Command {
            command: describe(&command),
            stderr: format!("{e}: {INSTALL_HINT}"),
        })?;
        self.coturn = Some(child);
        let deadline = Instant::now() + STUN_READY_TIMEOUT;
        for host in [Host::A, Host::B] {
            self.wait_for_stun(host, deadline)?;
        }
        Ok(())
    }

    /// Sends Binding requests from `host` until one is answered, and checks that the answer
    /// names the router's WAN address: the proof that the path and the NAT work.
    fn wait_for_stun(&mut self, host: Host, deadline: Instant) -> Result<(), NatLabError> {
        let socket = self.udp_socket(host)?;
        loop {
            match stun_binding(&socket, STUN_SERVER, Duration::from_millis(200)) {
                Ok(mapped) if mapped.ip() == IpAddr::V4(self.router_wan_ip(host)) => return Ok(()),
                Ok(mapped) => {
                    return Err(NatLabError::StunServer(format!(
                        "host {host:?} was seen as {mapped}, not as its router's {}",
                        self.router_wan_ip(host)
                    )))
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                Err(e) => {
                    return Err(NatLabError::StunServer(format!(
                        "binding from host {host:?}: {e}"
                    )))
                }
            }
            let exited = match self.coturn.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                _ => None,
            };
            if exited.is_some() || Instant::now() >= deadline {
                let why = exited.map_or_else(
                    || format!("no answer to host {host:?} within {STUN_READY_TIMEOUT:?}"),
                    |status| format!("turnserver exited ({status})"),
                );
                return Err(NatLabError::StunServer(format!(
                    "{why}; its log:\n{}",
                    self.stun_server_log()
                )));
            }
        }
    }
}

impl Drop for NatLab {
    fn drop(&mut self) {
        if let Some(mut coturn) = self.coturn.take() {
            let _ = coturn.kill();
            let _ = coturn.wait();
        }
        // Deleting a namespace destroys the veth ends inside it (and so their peers).
        for name in self.made.iter().rev() {
            if let Err(e) = ip(&["netns", "del", name]) {
                eprintln!("natlab: {e}");
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Sends one STUN Binding request (RFC 5389) from `socket` to `server` and returns the mapped
/// address of the answer: how `server` sees `socket` (after any NAT). Datagrams that are not
/// the answer are discarded; `timeout` without the answer gives [`io::ErrorKind::TimedOut`].
/// The socket's read timeout is restored afterwards.
pub fn stun_binding(
    socket: &UdpSocket,
    server: SocketAddr,
    timeout: Duration,
) -> io::Result<SocketAddr> {
    let previous = socket.read_timeout()?;
    let result = binding_exchange(socket, server, timeout);
    socket.set_read_timeout(previous)?;
    result
}

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

fn binding_exchange(
    socket: &UdpSocket,
    server: SocketAddr,
    timeout: Duration,
) -> io::Result<SocketAddr> {
    let transaction = transaction_id();
    let mut request = [0u8; 20];
    request[..2].copy_from_slice(&0x0001u16.to_be_bytes()); // Binding request, no attributes
    request[4..8].copy_from_slice(&MAGIC_COOKIE);
    request[8..].copy_from_slice(&transaction);
    socket.send_to(&request, server)?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        socket.set_read_timeout(Some(left))?;
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::ErrorKind::TimedOut.into())
            }
            Err(e) => return Err(e),
        };
        if from != server {
            continue;
        }
        if let Some(mapped) = parse_binding_success(&buf[..n], &transaction) {
            return Ok(mapped);
        }
    }
}

/// A transaction id unique enough for one exchange on one socket: the clock and a counter.
fn transaction_id() -> [u8; 12] {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&nanos.to_be_bytes());
    id[8..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    id
}

/// The mapped address in a Binding success response to `transaction`: XOR-MAPPED-ADDRESS,
/// or the old MAPPED-ADDRESS if that is all there is. `None` for anything else.
fn parse_binding_success(packet: &[u8], transaction: &[u8; 12]) -> Option<SocketAddr> {
    let header = packet.get(..20)?;
    if header[..2] != [0x01, 0x01]
        || header[4..8] != MAGIC_COOKIE
        || header[8..20] != transaction[..]
    {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut attributes = packet.get(20..20 + length)?;
    let mut plain = None;
    while attributes.len() >= 4 {
        let kind = u16::from_be_bytes([attributes[0], attributes[1]]);
        let len = usize::from(u16::from_be_bytes([attributes[2], attributes[3]]));
        let value = attributes.get(4..4 + len)?;
        match kind {
            0x0020 => return ipv4_address(value, true),
            0x0001 => plain = ipv4_address(value, false),
            _ => {}
        }
        // Attribute values are padded to a multiple of four bytes.
        attributes = attributes
            .get((4 + len).next_multiple_of(4)..)
            .unwrap_or_default();
    }
    plain
}

/// An IPv4 (MAPPED|XOR-MAPPED)-ADDRESS value: reserved, family 1, port, address.
fn ipv4_address(value: &[u8], xored: bool) -> Option<SocketAddr> {
    if value.len() != 8 || value[1] != 0x01 {
        return None;
    }
    let mut port = [value[2], value[3]];
    let mut ip = [value[4], value[5], value[6], value[7]];
    if xored {
        port.iter_mut()
            .zip(&MAGIC_COOKIE)
            .for_each(|(b, m)| *b ^= m);
        ip.iter_mut().zip(&MAGIC_COOKIE).for_each(|(b, m)| *b ^= m);
    }
    Some(SocketAddr::from((ip, u16::from_be_bytes(port))))
}

/// Runs `f` on a thread that has joined network namespace `name`: sockets it creates belong
/// to that namespace for good, whichever thread uses them later.
fn in_namespace<T: Send>(
    name: &str,
    f: impl FnOnce() -> io::Result<T> + Send,
) -> Result<T, NatLabError> {
    let path = format!("/run/netns/{name}");
    let io_err = |what: String| move |source| NatLabError::Io { what, source };
    let handle = File::open(&path).map_err(io_err(format!("open {path}")))?;
    thread::scope(|scope| {
        scope
            .spawn(|| {
                setns(&handle, CloneFlags::CLONE_NEWNET)
                    .map_err(io::Error::from)
                    .map_err(io_err(format!("join namespace {name}")))?;
                f().map_err(io_err(format!("in namespace {name}")))
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Turns on IPv4 forwarding in namespace `name` (`/proc/sys/net` is per namespace, seen
/// through the namespace of the thread that opens it).
fn enable_forwarding(name: &str) -> Result<(), NatLabError> {
    in_namespace(name, || fs::write("/proc/sys/net/ipv4/ip_forward", "1"))
}

fn ip(args: &[&str]) -> Result<(), NatLabError> {
    let mut command = Command::new("ip");
    command.args(args);
    run(command)
}

/// Runs `ip -n <namespace> <args>`, `args` split at spaces.
fn ip_in(namespace: &str, args: &str) -> Result<(), NatLabError> {
    let mut command = Command::new("ip");
    command
        .args(["-n", namespace])
        .args(args.split_whitespace());
    run(command)
}

/// Runs `iptables <args>` in `namespace`, `args` split at spaces.
fn iptables(namespace: &str, args: &str) -> Result<(), NatLabError> {
    let mut command = Command::new("ip");
    // -w: the legacy backend's lock is shared by every namespace; wait for it, don't fail.
    command
        .args(["netns", "exec", namespace, "iptables", "-w"])
        .args(args.split_whitespace());
    run(command)
}

/// Runs `command` to completion; a refusal by the system becomes [`NatLabError::NotPermitted`],
/// any other failure [`NatLabError::Command`] with the command line and its stderr.
fn run(mut command: Command) -> Result<(), NatLabError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| NatLabError::Command {
            command: describe(&command),
            stderr: format!("{e}: {INSTALL_HINT}"),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let lower = stderr.to_lowercase();
    // Refused (not root, a sandbox) or impossible (a kernel built without namespaces or NAT):
    // either way this machine cannot host the lab, which is no failure of the code under test.
    const CANNOT: [&str; 6] = [
        "not permitted",
        "permission denied",
        "table does not exist",
        "insmod",
        "not supported",
        "can't initialize",
    ];
    if CANNOT.iter().any(|phrase| lower.contains(phrase)) {
        return Err(NatLabError::NotPermitted(format!(
            "`{}`: {stderr}",
            describe(&command)
        )));
    }
    Err(NatLabError::Command {
        command: describe(&command),
        stderr: if stderr.is_empty() {
            output.status.to_string()
        } else {
            stderr
        },
    })
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab, or `None` (with the reason printed) where namespaces are not permitted.
    fn lab() -> Option<NatLab> {
        match NatLab::start() {
            Ok(lab) => Some(lab),
            Err(e @ NatLabError::NotPermitted(_)) => {
                eprintln!("skipping: {e}");
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    fn receive(socket: &UdpSocket, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
        socket.set_read_timeout(Some(wait)).expect("read timeout");
        let mut buf = [0u8; 1500];
        let (n, from) = socket.recv_from(&mut buf).ok()?;
        Some((buf[..n].to_vec(), from))
    }

    #[test]
    fn the_lab_has_real_nats_that_need_hole_punching() {
        let Some(lab) = lab() else { return };
        let stun = lab.stun_server();
        let wan_a = IpAddr::V4(lab.router_wan_ip(Host::A));
        let wan_b = IpAddr::V4(lab.router_wan_ip(Host::B));

        // Debian's own STUN client, run in host A's namespace, sees router A's address.
        let out = lab
            .command(Host::A, "timeout")
            .args(["5", "turnutils_stunclient", "-p"])
            .arg(stun.port().to_string())
            .arg(stun.ip().to_string())
            .output()
            .expect("turnutils_stunclient runs");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{report}\n{}", lab.stun_server_log());
        assert!(
            report.contains(&format!("reflexive addr: {wan_a}:")),
            "{report}"
        );
        assert!(!report.contains("10.0.1."), "{report}");

        // So does a socket of ours in each host: the mapped address is the router's.
        let a = lab.udp_socket(Host::A).expect("socket on A");
        let b = lab.udp_socket(Host::B).expect("socket on B");
        let wait = Duration::from_secs(2);
        let mapped_a = stun_binding(&a, stun, wait).expect("binding from A");
        let mapped_b = stun_binding(&b, stun, wait).expect("binding from B");
        assert_eq!(mapped_a.ip(), wan_a);
        assert_eq!(mapped_b.ip(), wan_b);

        // The private networks are unreachable from outside.
        a.send_to(
            b"private",
            (lab.host_b_ip(), b.local_addr().expect("addr").port()),
        )
        .expect("send");
        assert_eq!(receive(&b, Duration::from_millis(300)), None);

        // Unsolicited, A's datagram to B's mapped address is dropped by router B ...
        a.send_to(b"knock", mapped_b).expect("send");
        assert_eq!(receive(&b, Duration::from_millis(500)), None);
        // ... until B has sent to A's mapped address. (B's datagram gets in at A because A
        // has just sent to B: both sides sending is what punches the hole.)
        b.send_to(b"punch", mapped_a).expect("send");
        assert_eq!(receive(&a, wait), Some((b"punch".to_vec(), mapped_b)));
        a.send_to(b"hello", mapped_b).expect("send");
        assert_eq!(receive(&b, wait), Some((b"hello".to_vec(), mapped_a)));

        // The hole is for that one address and port: another socket on A is still filtered.
        let other = lab.udp_socket(Host::A).expect("second socket on A");
        other.send_to(b"stranger", mapped_b).expect("send");
        assert_eq!(receive(&b, Duration::from_millis(500)), None);
    }

    #[test]
    fn dropping_a_lab_deletes_its_namespaces() {
        let Some(lab) = lab() else { return };
        let names = lab.made.clone();
        assert_eq!(names.len(), 5, "{names:?}");
        // Each line of `ip netns list` is a name, maybe followed by its id.
        let listed = || -> Vec<String> {
            let out = Command::new("ip")
                .args(["netns", "list"])
                .output()
                .expect("ip netns list");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
                .collect()
        };
        let before = listed();
        assert!(names.iter().all(|n| before.contains(n)), "{before:?}");
        drop(lab);
        let after = listed();
        assert!(!names.iter().any(|n| after.contains(n)), "{after:?}");
    }

    #[test]
    fn a_renumbered_router_shows_its_host_at_the_new_address() {
        let Some(mut lab) = lab() else { return };
        let stun = lab.stun_server();
        let socket = lab.udp_socket(Host::A).expect("socket on A");
        let wait = Duration::from_secs(2);
        let before = stun_binding(&socket, stun, wait).expect("binding");
        assert_eq!(before.ip(), IpAddr::V4(Ipv4Addr::new(198, 18, 1, 2)));
        let new = lab.renumber(Host::A).expect("renumbers");
        assert_eq!(new, Ipv4Addr::new(198, 18, 1, 3));
        assert_eq!(lab.router_wan_ip(Host::A), new);
        // The same socket now reaches the world from the new address.
        let after = stun_binding(&socket, stun, wait).expect("binding after");
        assert_eq!(after.ip(), IpAddr::V4(new));
        assert_eq!(lab.router_wan_ip(Host::B), Ipv4Addr::new(198, 18, 2, 2));
    }

    #[test]
    fn a_system_that_cannot_host_the_lab_is_told_from_a_failing_command() {
        let failing = |stderr: &str| {
            let mut command = Command::new("sh");
            command
                .args(["-c", "echo \"$MESSAGE\" >&2; exit 1"])
                .env("MESSAGE", stderr);
            run(command)
        };
        for refusal in [
            "mount --make-shared /run/netns failed: Operation not permitted",
            "iptables v1.8.9 (legacy): can't initialize iptables table `nat': Table does not exist (do you need to insmod?)",
        ] {
            assert!(
                matches!(failing(refusal), Err(NatLabError::NotPermitted(_))),
                "{refusal}"
            );
        }
        // Anything else is a real failure, reported with the command line.
        match failing("Cannot find device \"wan\"") {
            Err(NatLabError::Command { command, stderr }) => {
                assert!(command.starts_with("sh -c"), "{command}");
                assert!(stderr.contains("wan"), "{stderr}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_binding_answer_is_parsed_and_garbage_is_not() {
        let transaction = [7u8; 12];
        // Binding success with XOR-MAPPED-ADDRESS 198.18.1.2:40000.
        let mut packet = vec![0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
        packet.extend_from_slice(&transaction);
        packet.extend_from_slice(&[0x00, 0x20, 0x00, 0x08, 0x00, 0x01]);
        packet.extend_from_slice(&(40_000u16 ^ 0x2112).to_be_bytes());
        packet.extend(
            [198u8, 18, 1, 2]
                .iter()
                .zip(&MAGIC_COOKIE)
                .map(|(a, m)| a ^ m),
        );
        assert_eq!(
            parse_binding_success(&packet, &transaction),
            Some(SocketAddr::from(([198, 18, 1, 2], 40_000)))
        );
        assert_eq!(parse_binding_success(&packet, &[8u8; 12]), None);
        for cut in 0..packet.len() {
            assert_eq!(parse_binding_success(&packet[..cut], &transaction), None);
        }
    }
}
