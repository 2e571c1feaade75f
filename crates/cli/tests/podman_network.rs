//! `network` commands as podman's users and scripts know them: the default
//! network named `podman`, listings, filters, exit codes and messages of
//! `rm`, `exists`, `prune` (podman's system tests, 500-networking, check
//! the same).

mod common;

use hoist_testenv::Hoist;

use common::{error_line, local_hoist as hoist};

fn names(h: &Hoist, filters: &[&str]) -> String {
    let mut args = vec!["network", "ls", "--format", "{{.Name}}"];
    for f in filters {
        args.extend(["--filter", f]);
    }
    h.run(&args).ok().stdout
}

#[test]
fn network_commands_answer_like_podman() {
    let h = hoist();
    let out = h.run(&["network", "ls"]).ok();
    let l: Vec<&str> = out.stdout.lines().collect();
    assert!(l[0].starts_with("NETWORK ID "), "{out:?}");
    assert!(
        l[0].contains(" NAME ") && l[0].ends_with("DRIVER"),
        "{out:?}"
    );
    // podman's default network, with podman's id for it.
    assert!(
        l[1].starts_with("2f259bab93aa ") && l[1].contains(" podman "),
        "{out:?}"
    );
    let out = h.run(&["network", "ls", "--noheading"]).ok();
    assert!(!out.stdout.contains("NETWORK ID"), "{out:?}");
    let out = h
        .run(&["network", "ls", "--format", "table {{.ID}} {{.Name}}"])
        .ok();
    assert!(out.stdout.starts_with("NETWORK ID "), "{out:?}");
    let out = h.run(&["network", "ls", "--no-trunc", "--noheading"]).ok();
    assert!(out
        .stdout
        .starts_with("2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9"));

    for n in ["c-net", "a-net", "b-net"] {
        assert_eq!(h.run(&["network", "create", n]).ok().stdout.trim(), n);
    }
    h.run(&["network", "create", "--label", "tier=front", "labelled"])
        .ok();
    let out = h.run(&["network", "ls", "--quiet"]).ok();
    assert_eq!(out.stdout, "a-net\nb-net\nc-net\nlabelled\npodman\n");
    let out = h
        .run(&["network", "create", "-o", "foo=bar", "x"])
        .fails_with(125);
    assert_eq!(
        error_line(&out.stderr),
        "Error: unsupported bridge network option foo"
    );
    let out = h
        .run(&["network", "create", "--ipam-driver", "dhcp", "x"])
        .fails_with(125);
    assert!(
        out.stderr.contains("dhcp ipam driver is not yet supported"),
        "{out:?}"
    );
    h.run(&[
        "network",
        "create",
        "-o",
        "mtu=1400",
        "--ipam-driver",
        "host-local",
        "mtu",
    ])
    .ok();
    let out = h
        .run(&["network", "inspect", "--format", "{{.Options.mtu}}", "mtu"])
        .ok();
    assert_eq!(out.stdout.trim(), "1400");
    h.run(&["network", "rm", "mtu"]).ok();
    let out = h.run(&["network", "create", "a-net"]).fails_with(125);
    assert!(out
        .stderr
        .contains("network name a-net already used: network already exists"));

    assert_eq!(names(&h, &["name=^[ab]-"]), "a-net\nb-net\n");
    assert_eq!(names(&h, &["label=tier=front"]), "labelled\n");
    assert_eq!(names(&h, &["label=tier", "driver=bridge"]), "labelled\n");
    assert_eq!(
        names(&h, &["dangling=true", "name=net"]),
        "a-net\nb-net\nc-net\n"
    );
    let out = h
        .run(&["network", "ls", "--filter", "foo=bar"])
        .fails_with(125);
    assert!(out.stderr.contains("invalid filter \"foo\""), "{out:?}");
    let out = h
        .run(&[
            "network",
            "inspect",
            "--format",
            "{{.Name}} {{.DNSEnabled}}",
            "a-net",
        ])
        .ok();
    assert_eq!(out.stdout, "a-net true\n");
    let out = h
        .run(&[
            "network",
            "inspect",
            "--format",
            "{{range .Subnets}}{{.Gateway}}{{end}}",
            "podman",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "10.90.0.1");

    h.run(&["network", "exists", "a-net"]).ok();
    h.run(&["network", "exists", "bogus"]).fails_with(1);
    let out = h.run(&["network", "rm", "bogus"]).fails_with(1);
    assert_eq!(
        error_line(&out.stderr),
        "Error: unable to find network with name or ID bogus: network not found"
    );
    let out = h.run(&["network", "rm", "--force", "bogus"]).ok();
    assert_eq!(out.stdout, "");
    let out = h.run(&["network", "rm", "podman"]).fails_with(125);
    assert!(out
        .stderr
        .contains("default network podman cannot be removed"));
    h.run(&["network", "rm", "-t", "3", "a-net"])
        .fails_with(125);

    // prune asks unless --force; the default network always stays.
    let out = h.run_stdin(&["network", "prune"], b"n\n").ok();
    assert!(out
        .stdout
        .starts_with("WARNING! This will remove all networks"));
    assert_eq!(
        h.run(&["network", "ls", "-q"]).ok().stdout.lines().count(),
        5
    );
    let out = h
        .run(&["network", "prune", "-f", "--filter", "label!=tier"])
        .ok();
    assert_eq!(out.stdout, "a-net\nb-net\nc-net\n");
    let out = h.run(&["network", "rm", "labelled"]).ok();
    assert_eq!(out.stdout, "labelled\n");
    assert_eq!(h.run(&["network", "ls", "-q"]).ok().stdout, "podman\n");
}

#[test]
fn networks_in_use_are_kept_until_forced() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&["network", "create", "busy"]).ok();
    let cid = h
        .run(&["create", "--network", "busy", &img, "true"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let out = h.run(&["network", "rm", "busy"]).fails_with(2);
    assert!(out.stderr.contains("network is being used"), "{out:?}");
    assert_eq!(names(&h, &["dangling=false"]), "busy\npodman\n");
    let out = h.run(&["network", "prune", "--force"]).ok();
    assert_eq!(out.stdout, "");
    let out = h.run(&["network", "rm", "--force", "busy"]).ok();
    assert_eq!(out.stdout, "busy\n");
    h.run(&["container", "exists", &cid]).fails_with(1);
}

#[test]
fn dns_hosts_and_proxy_flags_reach_the_container() {
    let (_reg, mut h, img) = common::setup_with_busybox();
    h.env("http_proxy", "http://proxy.example:3128");
    let out = h
        .run(&[
            "run",
            "--rm",
            "--dns-opt=ndots:3",
            "--dns-option=timeout:2",
            "--dns",
            "10.1.2.3",
            "--dns-search",
            "example.com",
            "--add-host",
            "db:10.0.0.5",
            &img,
            "sh",
            "-c",
            "cat /etc/resolv.conf /etc/hosts; echo proxy=$http_proxy",
        ])
        .ok();
    for want in [
        "options ndots:3 timeout:2\n",
        "nameserver 10.1.2.3\n",
        "search example.com\n",
        "10.0.0.5\tdb\n",
        "proxy=http://proxy.example:3128\n",
    ] {
        assert!(out.stdout.contains(want), "{want:?} in {out:?}");
    }
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--http-proxy=false",
            &img,
            "sh",
            "-c",
            "echo proxy=$http_proxy",
        ])
        .ok();
    assert_eq!(out.stdout, "proxy=\n");
    let out = h
        .run(&["run", "--rm", "--add-host", "nocolon", &img, "true"])
        .fails_with(125);
    assert!(out.stderr.contains("invalid --add-host"), "{out:?}");
    h.run(&["run", "--rm", "--dns", "bogus", &img, "true"])
        .fails_with(125);
    // Without a network there is no name resolution to configure: podman
    // refuses the flags, and the container keeps its image's resolv.conf
    // (busybox has none).
    for flag in [
        "--dns=10.1.2.3",
        "--dns-search=example.com",
        "--dns-option=ndots:3",
    ] {
        let out = h
            .run(&["run", "--rm", "--network", "none", flag, &img, "true"])
            .fails_with(125);
        assert!(
            out.stderr
                .contains("conflicting options: dns and the network mode: none"),
            "{flag}: {out:?}"
        );
    }
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "grep -c /etc/ /proc/mounts; test -e /etc/resolv.conf || echo no resolv.conf",
        ])
        .ok();
    assert_eq!(out.stdout, "2\nno resolv.conf\n", "{out:?}");
}

/// The container's IPv4 interfaces as `NAME ADDRESS` lines.
fn interfaces(h: &Hoist, cid: &str) -> Vec<String> {
    let out = h.run(&["exec", cid, "ip", "-4", "-o", "addr"]).ok();
    let mut found: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() > 3 && w[1] != "lo").then(|| format!("{} {}", w[1], w[3]))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn connect_disconnect_and_reload_a_running_container() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&["network", "create", "--subnet", "10.231.77.0/24", "extra"])
        .ok();
    let cid = h
        .run(&["run", "-d", &img, "top"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(interfaces(&h, &cid).len(), 1);
    h.run(&["network", "connect", "--ip", "10.231.77.9", "extra", &cid])
        .ok();
    let now = interfaces(&h, &cid);
    assert!(now.contains(&"eth1 10.231.77.9/24".to_string()), "{now:?}");
    let fmt = "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}";
    let out = h.run(&["inspect", "--format", fmt, &cid]).ok();
    assert_eq!(out.stdout.trim(), "extra podman");
    h.run(&["network", "rm", "extra"]).fails_with(2);

    // Reload keeps the addresses, MAC included.
    let mac_fmt = "{{(index .NetworkSettings.Networks \"podman\").MacAddress}}";
    let mac = h.run(&["inspect", "--format", mac_fmt, &cid]).ok().stdout;
    let out = h.run(&["network", "reload", &cid]).ok();
    assert_eq!(out.stdout.trim(), cid);
    assert_eq!(interfaces(&h, &cid), now);
    assert_eq!(
        h.run(&["inspect", "--format", mac_fmt, &cid]).ok().stdout,
        mac
    );
    let out = h.run(&["network", "reload", "--all"]).ok();
    assert_eq!(out.stdout.trim(), cid);

    let aliases = "{{(index .NetworkSettings.Networks \"extra\").Aliases}}";
    let out = h.run(&["inspect", "--format", aliases, &cid]).ok();
    assert_eq!(out.stdout.trim(), format!("[{}]", &cid[..12]));
    let hosts = h.run(&["exec", &cid, "cat", "/etc/hosts"]).ok().stdout;
    assert!(hosts.contains("10.231.77.9\t"), "{hosts}");

    h.run(&["network", "disconnect", "extra", &cid]).ok();
    assert_eq!(interfaces(&h, &cid).len(), 1);
    let hosts = h.run(&["exec", &cid, "cat", "/etc/hosts"]).ok().stdout;
    assert!(!hosts.contains("10.231.77.9"), "{hosts}");
    // Off every network, and back on.
    h.run(&["network", "disconnect", "podman", &cid]).ok();
    assert!(interfaces(&h, &cid).is_empty());
    h.run(&["network", "connect", "podman", &cid]).ok();
    assert_eq!(interfaces(&h, &cid).len(), 1);
    let out = h
        .run(&["network", "disconnect", "extra", &cid])
        .fails_with(125);
    assert!(
        out.stderr.contains("is not connected to network extra"),
        "{out:?}"
    );

    // A stopped container's networks change in its record.
    h.run(&["rm", "-f", "-t", "0", &cid]).ok();
    let created = h
        .run(&["create", "--name", "later", &img, "true"])
        .ok()
        .stdout
        .trim()
        .to_string();
    h.run(&["network", "connect", "extra", "later"]).ok();
    h.run(&["network", "rm", "extra"]).fails_with(2);
    h.run(&["network", "disconnect", "extra", "later"]).ok();
    h.run(&["network", "rm", "extra"]).ok();
    h.run(&["rm", &created]).ok();
}

/// What `network connect` gives (address, MAC, alias) is kept in the
/// container's record: a stopped container gets it at its start, a running
/// one keeps it across a restart, and disconnecting forgets it.
#[test]
fn connect_options_last_across_starts_and_restarts() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&["network", "create", "--subnet", "10.231.78.0/24", "kept"])
        .ok();
    let mac = "92:d0:c6:0a:29:44";
    let mac_of = |cid: &str| {
        let fmt = "{{(index .NetworkSettings.Networks \"kept\").MacAddress}}";
        h.run(&["inspect", "--format", fmt, cid])
            .ok()
            .stdout
            .trim()
            .to_string()
    };
    let aliases_of = |cid: &str| {
        let fmt = "{{(index .NetworkSettings.Networks \"kept\").Aliases}}";
        h.run(&["inspect", "--format", fmt, cid])
            .ok()
            .stdout
            .trim()
            .to_string()
    };

    let later = h
        .run(&["create", "--name", "later", &img, "top"])
        .ok()
        .stdout
        .trim()
        .to_string();
    h.run(&[
        "network",
        "connect",
        "--ip",
        "10.231.78.20",
        "--mac-address",
        mac,
        "--alias",
        "web",
        "kept",
        "later",
    ])
    .ok();
    h.run(&["start", "later"]).ok();
    let want = "eth1 10.231.78.20/24".to_string();
    assert!(
        interfaces(&h, &later).contains(&want),
        "{:?}",
        interfaces(&h, &later)
    );
    assert_eq!(mac_of(&later), mac);
    assert!(aliases_of(&later).contains("web"), "{}", aliases_of(&later));
    h.run(&["restart", "-t", "0", "later"]).ok();
    assert!(interfaces(&h, &later).contains(&want));
    assert_eq!(mac_of(&later), mac);

    // Connected while running: the address survives a restart.
    let running = h
        .run(&["run", "-d", &img, "top"])
        .ok()
        .stdout
        .trim()
        .to_string();
    h.run(&[
        "network",
        "connect",
        "--ip",
        "10.231.78.21",
        "kept",
        &running,
    ])
    .ok();
    h.run(&["restart", "-t", "0", &running]).ok();
    let now = interfaces(&h, &running);
    assert!(now.contains(&"eth1 10.231.78.21/24".to_string()), "{now:?}");

    // Disconnected and connected again without options: nothing fixed.
    h.run(&["stop", "-t", "0", "later"]).ok();
    h.run(&["network", "disconnect", "kept", "later"]).ok();
    h.run(&["network", "connect", "kept", "later"]).ok();
    h.run(&["start", "later"]).ok();
    let now = interfaces(&h, &later);
    assert!(
        now.iter().any(|i| i.starts_with("eth1 10.231.78.")),
        "{now:?}"
    );
    assert!(!now.contains(&want), "{now:?}");
    assert_ne!(mac_of(&later), mac);

    let bad = h
        .run(&[
            "network",
            "connect",
            "--mac-address",
            "92:d0:zz",
            "kept",
            &running,
        ])
        .fails_with(125);
    assert!(bad.stderr.contains("invalid MAC address"), "{bad:?}");
    h.run(&["rm", "-f", "-t", "0", "-a"]).ok();
}

#[test]
fn etc_hosts_follows_podmans_layout_and_containers_conf() {
    let (_reg, mut h, img) = common::setup_with_busybox();
    // Default: the host's /etc/hosts, host.containers.internal (the
    // network's gateway), then the address with host name and name.
    let out = h
        .run(&[
            "run",
            "--rm",
            "--name",
            "web",
            "--hostname",
            "hn",
            &img,
            "cat",
            "/etc/hosts",
        ])
        .ok();
    let last = out.stdout.lines().last().unwrap().to_string();
    assert!(last.ends_with("\thn web"), "{out:?}");
    assert!(
        out.stdout.contains("\thost.containers.internal\n"),
        "{out:?}"
    );

    let base = h.base_dir().join("hosts");
    std::fs::write(&base, "10.1.1.1 one\n10.2.2.2 two #comment\n").unwrap();
    let conf = h.base_dir().join("containers.conf");
    std::fs::write(
        &conf,
        format!(
            "[containers]\nbase_hosts_file = \"{}\"\nhost_containers_internal_ip = \"10.3.3.3\"\n",
            base.display()
        ),
    )
    .unwrap();
    h.env("CONTAINERS_CONF", &conf);
    let out = h
        .run(&[
            "run",
            "--rm",
            "--add-host",
            "three:10.4.4.4",
            &img,
            "cat",
            "/etc/hosts",
        ])
        .ok();
    for want in [
        "10.1.1.1 one\n",
        "10.2.2.2 two #comment\n",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost",
        "10.4.4.4\tthree\n",
        "10.3.3.3\thost.containers.internal\n",
    ] {
        assert!(out.stdout.contains(want), "{want:?} in {out:?}");
    }
    assert_eq!(out.stdout.lines().count(), 7, "{out:?}");
    // A host name the base maps gets no entry of its own.
    let out = h
        .run(&[
            "run",
            "--rm",
            "--name",
            "one",
            "--hostname",
            "one",
            &img,
            "cat",
            "/etc/hosts",
        ])
        .ok();
    assert_eq!(out.stdout.lines().count(), 5, "{out:?}");
}

/// `--ip-range` limits the addresses handed out (recorded as podman
/// records it), `--ipv6` makes a dual-stack network whose containers get
/// an address of each family.
#[test]
fn ip_range_and_dual_stack_networks() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&[
        "network",
        "create",
        "--subnet",
        "10.231.79.0/24",
        "--ip-range",
        "10.231.79.128/25",
        "ranged",
    ])
    .ok();
    let doc: serde_json::Value =
        serde_json::from_str(&h.run(&["network", "inspect", "ranged"]).ok().stdout).unwrap();
    let range = &doc[0]["subnets"][0]["lease_range"];
    assert_eq!(range["start_ip"], "10.231.79.129", "{doc}");
    assert_eq!(range["end_ip"], "10.231.79.255", "{doc}");
    let addr = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "ranged",
            &img,
            "ip",
            "-4",
            "-o",
            "addr",
            "show",
            "eth0",
        ])
        .ok()
        .stdout;
    assert!(addr.contains("10.231.79.129/24"), "{addr}");

    h.run(&[
        "network",
        "create",
        "--subnet",
        "10.231.80.0/24",
        "--ipv6",
        "dual",
    ])
    .ok();
    let doc: serde_json::Value =
        serde_json::from_str(&h.run(&["network", "inspect", "dual"]).ok().stdout).unwrap();
    assert_eq!(doc[0]["ipv6_enabled"], true, "{doc}");
    let v6 = doc[0]["subnets"][1]["subnet"].as_str().unwrap().to_string();
    assert!(v6.starts_with("fd") && v6.ends_with("::/64"), "{doc}");
    let prefix = v6.trim_end_matches("::/64");
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "dual",
            &img,
            "ip",
            "-o",
            "addr",
            "show",
            "eth0",
        ])
        .ok()
        .stdout;
    assert!(out.contains("10.231.80."), "{out}");
    assert!(out.contains(&format!("{prefix}::")), "{out}");

    let bad = h
        .run(&[
            "network",
            "create",
            "--ip-range",
            "10.231.81.0/25",
            "nosubnet",
        ])
        .fails_with(125);
    assert!(
        bad.stderr.contains("needs the --subnet it belongs to"),
        "{bad:?}"
    );
    let bad = h
        .run(&[
            "network",
            "create",
            "--subnet",
            "10.231.82.0/24",
            "--ip-range",
            "10.231.83.0/25",
            "outside",
        ])
        .fails_with(125);
    assert!(bad.stderr.contains("outside it"), "{bad:?}");
    h.run(&["network", "exists", "outside"]).fails_with(1);

    // Several subnets, each with its own gateway and range.
    h.run(&[
        "network",
        "create",
        "--subnet",
        "10.231.84.0/24",
        "--gateway",
        "10.231.84.254",
        "--subnet",
        "fd99:84::/64",
        "--ip-range",
        "10.231.84.0/25",
        "multi",
    ])
    .ok();
    let doc: serde_json::Value =
        serde_json::from_str(&h.run(&["network", "inspect", "multi"]).ok().stdout).unwrap();
    let subnets = &doc[0]["subnets"];
    assert_eq!(subnets[0]["gateway"], "10.231.84.254", "{doc}");
    assert_eq!(
        subnets[0]["lease_range"]["start_ip"], "10.231.84.1",
        "{doc}"
    );
    assert_eq!(subnets[1]["subnet"], "fd99:84::/64", "{doc}");
    assert_eq!(subnets[1]["gateway"], "fd99:84::1", "{doc}");
    for (args, message) in [
        (
            vec!["--subnet", "10.231.85.0/24", "--subnet", "10.231.85.128/25"],
            "given before it",
        ),
        (
            vec![
                "--subnet",
                "10.231.86.0/24",
                "--gateway",
                "10.231.86.1",
                "--gateway",
                "10.231.86.2",
            ],
            "more gateways than subnets",
        ),
    ] {
        let mut cmd = vec!["network", "create"];
        cmd.extend(args);
        cmd.push("refused");
        let bad = h.run(&cmd).fails_with(125);
        assert!(bad.stderr.contains(message), "{bad:?}");
    }
    h.run(&["network", "exists", "refused"]).fails_with(1);
}

/// `network reload` is for a host whose firewall rules were flushed: a
/// container on the default network (hoist's own bridge driver) whose
/// port-forwarding rule went missing answers on its published port again
/// afterwards. Only this container's rule is deleted: other tests' stay.
#[test]
fn network_reload_restores_a_published_port_after_its_rule_went_missing() {
    let (_reg, h, img) = common::setup_with_busybox();
    let port = hoist_testenv::free_port();
    let cid = h
        .run(&[
            "run",
            "-d",
            "-p",
            &format!("{port}:80"),
            &img,
            "sh",
            "-c",
            "echo reloaded > /index.html; exec httpd -f -p 80 -h /",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    let wait = std::time::Duration::from_secs(20);
    let answers = || common::http_get(port, "/index.html").as_deref() == Some("reloaded\n");
    hoist_testenv::wait_until(wait, "the published port", answers);
    let saved = std::process::Command::new("iptables-save")
        .args(["-t", "nat"])
        .output()
        .unwrap();
    let saved = String::from_utf8(saved.stdout).unwrap();
    let jump = saved
        .lines()
        .find(|l| l.starts_with("-A NETAVARK-HOSTPORT-DNAT") && l.contains(&cid))
        .unwrap_or_else(|| panic!("no DNAT jump for {cid}:\n{saved}"));
    let rule = shlex::split(&jump.replacen("-A ", "-D ", 1)).unwrap();
    let deleted = std::process::Command::new("iptables")
        .args(["-t", "nat"])
        .args(&rule)
        .status()
        .unwrap();
    assert!(deleted.success());
    assert_eq!(common::http_get(port, "/index.html"), None);
    let out = h.run(&["network", "reload", &cid]).ok();
    assert_eq!(out.stdout.trim(), cid);
    hoist_testenv::wait_until(wait, "the port after the reload", answers);
    h.run(&["rm", "-f", "-t", "0", &cid]).ok();
}
