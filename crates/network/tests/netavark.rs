//! Real network namespaces, real netavark and aardvark-dns, real iptables
//! (as root). Networks without DNS are set up by hoist's built-in bridge
//! driver unless a test asks for netavark; both must do the same. Every test uses its own names, bridge, subnet and netavark
//! state directory so it can run beside other tests, and a guard undoes
//! everything even when an assertion fails.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use hoist_network::{
    resolv_conf, CreateOptions, Error, Netavark, Netns, Network, NetworkAttachment, NetworkStore,
    PortMapping, SetupRequest,
};

/// Who sets up networks without DNS.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Driver {
    Native,
    Netavark,
}

/// Everything a test created, undone on drop in reverse order.
struct Guard {
    netavark: Netavark,
    netns: Vec<Netns>,
    setups: Vec<(PathBuf, SetupRequest)>,
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for (path, req) in self.setups.drain(..).rev() {
            let _ = self.netavark.teardown(&path, &req);
        }
        // teardown stops aardvark-dns when its last container goes; if a
        // teardown failed, stop the one this test's netavark started.
        if let Some(pid) = self.netavark.aardvark_pid() {
            if process_alive(pid)
                && cmdline(pid).contains(&*self.netavark.config_dir().to_string_lossy())
            {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
        for ns in self.netns.drain(..) {
            let _ = ns.remove();
        }
    }
}

impl Guard {
    fn new() -> Guard {
        Self::with_driver(Driver::Native)
    }

    fn with_driver(driver: Driver) -> Guard {
        assert!(
            rustix::process::geteuid().is_root(),
            "these tests configure the kernel's network and must run as root"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut netavark = Netavark::new(dir.path().join("run")).expect("netavark installed");
        if driver == Driver::Netavark {
            netavark = netavark.netavark_only();
        }
        Guard {
            netavark,
            netns: Vec::new(),
            setups: Vec::new(),
            children: Vec::new(),
            _dir: dir,
        }
    }

    fn dir(&self) -> &Path {
        self._dir.path()
    }

    fn netns(&mut self, name: &str) -> Netns {
        let ns = Netns::create(name).unwrap();
        self.netns.push(ns.clone());
        ns
    }

    fn setup(&mut self, ns: &Netns, req: &SetupRequest) -> hoist_network::StatusBlock {
        // Registered first: a setup that fails half-way is torn down too.
        self.setups.push((ns.path().to_path_buf(), req.clone()));
        self.netavark.setup(ns.path(), req).unwrap()
    }

    fn teardown(&mut self, ns: &Netns, req: &SetupRequest) {
        self.netavark.teardown(ns.path(), req).unwrap();
        self.setups.retain(|(p, r)| !(p == ns.path() && r == req));
    }
}

/// A short unique tag: bridge names must fit in 15 bytes.
fn tag() -> String {
    format!("{:06x}", rand_u32() & 0xff_ffff)
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    u32::from_ne_bytes(b)
}

/// A network on its own bridge and a /24 in 10.213/16 nobody routes yet.
/// Each test has a store of its own, which knows nothing of the others'
/// subnets: the third octet comes from one counter for the whole process,
/// so that tests running at once never share a subnet (two bridges routing
/// one /24 send a test's packets to the other's containers).
fn create_network(store: &NetworkStore, name: &str, bridge: &str, dns: bool) -> Network {
    static NEXT: AtomicU8 = AtomicU8::new(0);
    static BASE: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| (rand_u32() % 200) as u8);
    for _ in 0..50 {
        let third = base.wrapping_add(NEXT.fetch_add(1, Ordering::SeqCst));
        let opts = CreateOptions {
            name: name.into(),
            subnets: vec![format!("10.213.{third}.0/24").parse().unwrap()],
            interface_name: Some(bridge.into()),
            dns: Some(dns),
            ..CreateOptions::default()
        };
        match store.create(opts) {
            Ok(net) => return net,
            Err(Error::SubnetInUse { .. }) => continue,
            Err(e) => panic!("creating network {name}: {e}"),
        }
    }
    panic!("no free test subnet in 10.213.0.0/16");
}

fn nsenter(ns: &Netns) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net={}", ns.path().display()));
    cmd
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(ip: IpAddr, port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(3))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
    let mut body = String::new();
    stream.read_to_string(&mut body)?;
    Ok(body)
}

fn retry<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => panic!("{what}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn iptables_rules() -> String {
    let mut all = String::new();
    for table in ["filter", "nat"] {
        all += &output(Command::new("iptables-save").args(["-t", table])).1;
    }
    all
}

fn process_alive(pid: u32) -> bool {
    // A zombie has exited; with no init reaping it, it may linger.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

fn host_has_interface(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

#[test]
fn port_forwarding_ping_and_clean_teardown() {
    port_forwarding_ping_and_clean_teardown_by(Driver::Native);
}

#[test]
fn port_forwarding_ping_and_clean_teardown_by_netavark() {
    port_forwarding_ping_and_clean_teardown_by(Driver::Netavark);
}

fn port_forwarding_ping_and_clean_teardown_by(driver: Driver) {
    let t = tag();
    let mut g = Guard::with_driver(driver);
    let store = NetworkStore::open(g.dir().join("networks")).unwrap();
    let bridge = format!("hnt{t}");
    // Like the default network: no DNS.
    let net = create_network(&store, &format!("pf-{t}"), &bridge, false);
    let subnet = net.subnets[0].subnet;
    let gateway = net.subnets[0].gateway.unwrap();

    let ns = g.netns(&format!("hoist-test-pf-{t}"));
    assert!(ns.is_mounted());
    assert_eq!(Netns::open(ns.name()).unwrap(), ns);
    let (ok, lo) = output(nsenter(&ns).args(["ip", "-o", "link", "show", "lo"]));
    assert!(
        ok && lo.contains(",UP"),
        "lo is up in the new namespace: {lo}"
    );

    let (local_port, any_port) = (free_port(), free_port());
    let cid = format!("{t}{}", "0".repeat(58));
    let mut req = SetupRequest::new(&cid, format!("web-{t}"));
    req.networks.push(NetworkAttachment::new(net.clone()));
    req.port_mappings = vec![
        PortMapping::parse(&format!("127.0.0.1:{local_port}:8080")).unwrap(),
        PortMapping::parse(&format!("{any_port}:8080")).unwrap(),
    ];
    let status = g.setup(&ns, &req);

    let addrs = status.addresses();
    assert_eq!(addrs.len(), 1, "{status:?}");
    let ip = addrs[0].address;
    assert!(subnet.contains(&ip), "{ip} in {subnet}");
    assert_eq!(addrs[0].interface, "eth0");
    assert_eq!(addrs[0].gateway, Some(gateway));
    assert!(status.dns_servers().is_empty(), "no aardvark without DNS");
    assert_eq!(g.netavark.ipam().allocated(&net, &cid).unwrap(), vec![ip]);
    // A second setup is refused without disturbing the first.
    assert!(matches!(
        g.netavark.setup(ns.path(), &req),
        Err(Error::InvalidRequest { .. })
    ));
    assert!(host_has_interface(&bridge));
    let (_, inside) = output(nsenter(&ns).args(["ip", "-o", "addr", "show", "eth0"]));
    assert!(inside.contains(&format!("{ip}/24")), "{inside}");

    // A web server inside the namespace.
    let www = g.dir().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let marker = format!("hello from {t}");
    std::fs::write(www.join("index.html"), &marker).unwrap();
    let child = nsenter(&ns)
        .args(["busybox", "httpd", "-f", "-p", "8080", "-h"])
        .arg(&www)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    g.children.push(child);

    let direct = retry("reaching the container directly", || {
        http_get(ip, 8080).map_err(|e| e.to_string())
    });
    assert!(direct.contains(&marker), "{direct}");
    let via_localhost = http_get("127.0.0.1".parse().unwrap(), local_port).unwrap();
    assert!(
        via_localhost.contains(&marker),
        "127.0.0.1 forwarding: {via_localhost}"
    );
    let via_gateway = http_get(gateway, any_port).unwrap();
    assert!(
        via_gateway.contains(&marker),
        "host address forwarding: {via_gateway}"
    );
    assert!(
        http_get(gateway, local_port).is_err(),
        "a 127.0.0.1 mapping must not answer on other addresses"
    );

    let (pinged, ping) = output(
        Command::new("busybox")
            .args(["ping", "-c", "1", "-W", "3"])
            .arg(ip.to_string()),
    );
    assert!(pinged, "container pingable from the host: {ping}");

    let rules = iptables_rules();
    assert!(
        rules.contains(&subnet.to_string()) && rules.contains(&cid),
        "rules present while up"
    );

    for child in &mut g.children {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    g.children.clear();
    g.teardown(&ns, &req);

    let rules = iptables_rules();
    assert!(
        !rules.contains(&subnet.to_string()),
        "subnet rules left behind:\n{rules}"
    );
    assert!(
        !rules.contains(&cid),
        "port forwarding rules left behind:\n{rules}"
    );
    assert!(
        !host_has_interface(&bridge),
        "bridge removed with its last container"
    );
    let (eth0_left, _) = output(nsenter(&ns).args(["ip", "link", "show", "eth0"]));
    assert!(!eth0_left, "veth removed from the namespace");
    assert!(
        g.netavark.ipam().allocated(&net, &cid).unwrap().is_empty(),
        "IP released"
    );

    let path = ns.path().to_path_buf();
    ns.remove().unwrap();
    g.netns.clear();
    assert!(!path.exists());
    assert!(matches!(
        Netns::open(ns.name()),
        Err(Error::NetnsNotFound { .. })
    ));
}

#[test]
fn containers_resolve_each_other_by_name() {
    let t = tag();
    let mut g = Guard::new();
    let store = NetworkStore::open(g.dir().join("networks")).unwrap();
    let bridge = format!("hnd{t}");
    let net = create_network(&store, &format!("dns-{t}"), &bridge, true);
    assert!(net.dns_enabled);
    let gateway = net.subnets[0].gateway.unwrap();

    let ns_a = g.netns(&format!("hoist-test-a-{t}"));
    let ns_b = g.netns(&format!("hoist-test-b-{t}"));
    let mut req_a = SetupRequest::new(format!("a{t}{}", "0".repeat(57)), "a");
    req_a.networks.push(NetworkAttachment::new(net.clone()));
    let mut req_b = SetupRequest::new(format!("b{t}{}", "0".repeat(57)), "b");
    req_b
        .networks
        .push(NetworkAttachment::new(net.clone()).with_aliases(["bee"]));

    let status_a = g.setup(&ns_a, &req_a);
    let status_b = g.setup(&ns_b, &req_b);
    let ip_a = status_a.addresses_on(&net.name)[0];
    let ip_b = status_b.addresses_on(&net.name)[0];
    assert_ne!(ip_a, ip_b);
    assert_eq!(
        status_a.dns_servers(),
        vec![gateway],
        "aardvark listens on the gateway"
    );
    assert!(status_a
        .dns_search_domains()
        .contains(&"dns.podman".to_string()));
    let resolv = resolv_conf(Some(&status_a), "nameserver 127.0.0.53\n");
    assert!(
        resolv.contains(&format!("nameserver {gateway}\n")),
        "{resolv}"
    );
    assert!(!resolv.contains("127.0.0.53"), "{resolv}");

    let aardvark = g
        .netavark
        .aardvark_pid()
        .expect("netavark started aardvark-dns");
    assert!(process_alive(aardvark));

    for (name, want) in [("b", ip_b), ("bee", ip_b), ("a", ip_a)] {
        retry(&format!("resolving {name} from a"), || {
            let (ok, out) = output(
                nsenter(&ns_a)
                    .args(["busybox", "nslookup", name])
                    .arg(gateway.to_string()),
            );
            if ok && out.contains(&format!("Address: {want}")) {
                Ok(())
            } else {
                Err(out)
            }
        });
    }
    // Names of other networks' containers do not leak in.
    let (_, out) = output(
        nsenter(&ns_a)
            .args(["busybox", "nslookup", "no-such-container-x"])
            .arg(gateway.to_string()),
    );
    assert!(!out.contains(&format!("Address: {ip_b}")), "{out}");

    g.teardown(&ns_a, &req_a);
    assert!(process_alive(aardvark), "aardvark-dns stays while b is up");
    g.teardown(&ns_b, &req_b);
    retry("aardvark-dns stopping after the last container", || {
        if process_alive(aardvark) {
            Err(format!("pid {aardvark} still running"))
        } else {
            Ok(())
        }
    });
    assert!(!host_has_interface(&bridge));
    let rules = iptables_rules();
    assert!(
        !rules.contains(&net.subnets[0].subnet.to_string()),
        "{rules}"
    );
}

#[test]
fn netns_names_collide_and_none_mode_has_only_loopback() {
    let t = tag();
    let mut g = Guard::new();
    let ns = g.netns(&format!("hoist-test-none-{t}"));
    assert!(matches!(
        Netns::create(ns.name()),
        Err(Error::NetnsExists { .. })
    ));
    assert!(Netns::list_in(Path::new(hoist_network::DEFAULT_NETNS_DIR))
        .unwrap()
        .contains(&ns.name().to_string()));
    let (ok, links) = output(nsenter(&ns).args(["ip", "-o", "link"]));
    assert!(ok, "{links}");
    assert_eq!(links.lines().count(), 1, "only lo: {links}");
    // The calling thread stayed in the process's namespace, and the new
    // namespace is another one.
    use std::os::unix::fs::MetadataExt;
    let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
    let own = ino(Path::new("/proc/thread-self/ns/net"));
    assert_eq!(own, ino(Path::new("/proc/self/ns/net")));
    assert_ne!(own, ino(ns.path()));
}

#[test]
fn failed_setup_leaves_nothing_behind() {
    failed_setup_leaves_nothing_behind_by(Driver::Native);
}

#[test]
fn failed_setup_leaves_nothing_behind_by_netavark() {
    failed_setup_leaves_nothing_behind_by(Driver::Netavark);
}

fn failed_setup_leaves_nothing_behind_by(driver: Driver) {
    let t = tag();
    let g = Guard::with_driver(driver);
    let store = NetworkStore::open(g.dir().join("networks")).unwrap();
    let bridge = format!("hnf{t}");
    let net = create_network(&store, &format!("fail-{t}"), &bridge, false);
    let cid = format!("f{t}{}", "0".repeat(57));
    let mut req = SetupRequest::new(&cid, "f");
    req.networks.push(NetworkAttachment::new(net.clone()));
    req.port_mappings = vec![PortMapping::parse(&format!("{}:80", free_port())).unwrap()];
    // A path that is not a network namespace makes netavark fail.
    let bogus = g.dir().join("not-a-netns");
    std::fs::write(&bogus, "").unwrap();
    let err = g.netavark.setup(&bogus, &req).unwrap_err();
    match driver {
        Driver::Native => assert!(matches!(err, Error::Netlink { .. }), "{err}"),
        Driver::Netavark => assert!(matches!(err, Error::NetavarkFailed { .. }), "{err}"),
    }
    assert!(
        g.netavark.ipam().allocated(&net, &cid).unwrap().is_empty(),
        "IP released"
    );
    assert!(!host_has_interface(&bridge));
    assert!(!iptables_rules().contains(&cid));
}

/// The lines of `iptables-save` (filter and nat) that mention `needles`.
fn rules_mentioning(needles: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = iptables_rules()
        .lines()
        .filter(|l| needles.iter().any(|n| l.contains(n.as_str())))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// netavark and the built-in driver make the same links and firewall rules,
/// and each undoes what the other made: a container set up before an
/// upgrade (or on a network netavark serves) can be torn down either way.
#[test]
fn the_built_in_driver_and_netavark_make_and_undo_the_same_setup() {
    let t = tag();
    let mut g = Guard::new();
    let legacy = g.netavark.clone().netavark_only();
    let store = NetworkStore::open(g.dir().join("networks")).unwrap();
    let bridge = format!("hnx{t}");
    let net = create_network(&store, &format!("mix-{t}"), &bridge, false);
    let subnet = net.subnets[0].subnet;
    let ip: IpAddr = subnet.hosts().nth(5).unwrap();
    let ns = g.netns(&format!("hoist-test-mix-{t}"));
    let cid = format!("x{t}{}", "0".repeat(57));
    let port = free_port();
    let mut req = SetupRequest::new(&cid, format!("mix-{t}"));
    let mut attachment = NetworkAttachment::new(net.clone());
    attachment.static_ips = vec![ip];
    req.networks.push(attachment);
    req.port_mappings = vec![PortMapping::parse(&format!("{port}:80/udp")).unwrap()];
    let prefix = ip.to_string().rsplit_once('.').unwrap().0.to_string() + ".";
    let needles = [prefix, cid.clone(), format!("--dport {port}")];
    let link_of = |ns: &Netns| {
        let (_, text) = output(nsenter(ns).args(["ip", "-o", "-4", "addr", "show", "eth0"]));
        let (_, route) = output(nsenter(ns).args(["ip", "route", "show", "default"]));
        (text.split_whitespace().nth(3).map(str::to_string), route)
    };

    // netavark sets up, the built-in driver tears down.
    g.setups.push((ns.path().to_path_buf(), req.clone()));
    legacy.setup(ns.path(), &req).unwrap();
    let by_netavark = rules_mentioning(&needles);
    let netavark_link = link_of(&ns);
    assert!(!by_netavark.is_empty());
    g.teardown(&ns, &req);
    assert_eq!(rules_mentioning(&needles), Vec::<String>::new());
    assert!(!host_has_interface(&bridge));

    // The built-in driver sets up the same, netavark tears it down.
    let status = g.setup(&ns, &req);
    assert_eq!(status.addresses()[0].address, ip);
    assert_eq!(rules_mentioning(&needles), by_netavark);
    assert_eq!(link_of(&ns), netavark_link);
    assert_eq!(
        netavark_link.0,
        Some(format!("{ip}/{}", subnet.prefix_len()))
    );
    legacy.teardown(ns.path(), &req).unwrap();
    g.setups.clear();
    assert_eq!(rules_mentioning(&needles), Vec::<String>::new());
    assert!(!host_has_interface(&bridge));
    let (eth0_left, _) = output(nsenter(&ns).args(["ip", "link", "show", "eth0"]));
    assert!(!eth0_left, "veth removed from the namespace");
}

/// The host-side index of a namespace's `eth0` (`eth0@ifN` in `ip link`).
fn peer_index(ns: &Netns) -> u32 {
    let (_, text) = output(nsenter(ns).args(["ip", "-o", "link", "show", "eth0"]));
    let after = text.split("eth0@if").nth(1).expect("a veth");
    after.split(':').next().unwrap().parse().unwrap()
}

fn host_has_index(index: u32) -> bool {
    std::fs::read_dir("/sys/class/net").unwrap().any(|e| {
        std::fs::read_to_string(e.unwrap().path().join("ifindex"))
            .is_ok_and(|i| i.trim() == index.to_string())
    })
}

/// A container whose namespace is removed next leaves its veth pair to the
/// kernel, which deletes it with the namespace. The default network keeps
/// its bridge and network rules after its last container; another network
/// loses them.
#[test]
fn teardown_before_removal_leaves_the_veth_to_the_kernel_and_keeps_the_default_bridge() {
    let t = tag();
    let mut g = Guard::new();
    let store = NetworkStore::open(g.dir().join("networks")).unwrap();
    let default = store.get(hoist_network::DEFAULT_NETWORK_NAME).unwrap();
    let other = create_network(&store, &format!("tbr-{t}"), &format!("hnr{t}"), false);
    for net in [default, other] {
        let bridge = net.network_interface.clone();
        let subnet = net.subnets[0].subnet.to_string();
        let ns = g.netns(&format!("hoist-test-tbr-{t}-{}", net.name.len()));
        let cid = format!("r{t}{}{}", net.name.len() % 10, "0".repeat(56));
        let port = free_port();
        let mut req = SetupRequest::new(&cid, format!("tbr-{t}"));
        req.networks.push(NetworkAttachment::new(net.clone()));
        req.port_mappings = vec![PortMapping::parse(&format!("{port}:80")).unwrap()];
        g.setup(&ns, &req);
        let host_end = peer_index(&ns);
        g.netavark.teardown_before_removal(ns.path(), &req).unwrap();
        g.setups.clear();
        assert!(rules_mentioning(std::slice::from_ref(&cid)).is_empty());
        assert!(rules_mentioning(&[format!("--dport {port}")]).is_empty());
        let keeps = net.name == hoist_network::DEFAULT_NETWORK_NAME;
        assert_eq!(host_has_interface(&bridge), keeps, "{bridge}");
        assert_eq!(!rules_mentioning(&[subnet]).is_empty(), keeps);
        assert!(
            host_has_index(host_end),
            "the veth lives until its namespace goes"
        );
        ns.remove().unwrap();
        g.netns.clear();
        retry("the kernel deleting the veth with its namespace", || {
            (!host_has_index(host_end))
                .then_some(())
                .ok_or_else(|| format!("interface {host_end} still there"))
        });
    }
}

/// A network whose bridge name is taken by an interface that is not a
/// bridge: the built-in driver refuses with an error naming it, and leaves
/// no address allocated, no rule and the interface as it was.
#[test]
fn a_bridge_name_taken_by_another_kind_of_interface_is_refused() {
    let t = tag();
    let mut g = Guard::new();
    let store = NetworkStore::open(g.dir().join("networks")).unwrap();
    let bridge = format!("hnd{t}");
    let net = create_network(&store, &format!("dummy-{t}"), &bridge, false);
    let peer = format!("hnp{t}");
    let (made, text) = output(Command::new("ip").args([
        "link", "add", &bridge, "type", "veth", "peer", "name", &peer,
    ]));
    assert!(made, "{text}");
    let ns = g.netns(&format!("hoist-test-dummy-{t}"));
    let cid = format!("d{t}{}", "0".repeat(57));
    let mut req = SetupRequest::new(&cid, "d");
    req.networks.push(NetworkAttachment::new(net.clone()));
    let err = g.netavark.setup(ns.path(), &req).unwrap_err();
    let (_, kind) = output(Command::new("ip").args(["-d", "-o", "link", "show", &bridge]));
    let _ = Command::new("ip").args(["link", "del", &bridge]).status();
    assert!(matches!(err, Error::InterfaceInUse { .. }), "{err}");
    assert!(err.to_string().contains(&bridge), "{err}");
    assert!(
        kind.contains("veth"),
        "the interface is left as it was: {kind}"
    );
    assert!(g.netavark.ipam().allocated(&net, &cid).unwrap().is_empty());
    assert!(rules_mentioning(std::slice::from_ref(&cid)).is_empty());
}
