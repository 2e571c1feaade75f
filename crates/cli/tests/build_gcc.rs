//! `hoist build` of a real program: a small C project compiled with gcc
//! in a stage FROM a Debian bookworm base, linked statically and copied
//! into `scratch`; then rebuilt with nothing changed (all from the cache)
//! and with one source file changed (from its COPY on). And `--ssh`: a
//! program built there asks the forwarded SSH agent for its keys. Needs
//! root, OpenSSH's ssh-agent and the base's tarball that
//! scripts/make-gcc-base.sh makes (install-deps.sh runs it).

mod common;

use std::path::Path;

use hoist_testenv::Hoist;

const GCC_BASE: &str = "/var/cache/hoist/gcc-bookworm.tar";
const BASE: &str = "localhost/test/gcc:bookworm";

const CONTAINERFILE: &str = "FROM localhost/test/gcc:bookworm AS compile\n\
WORKDIR /src\n\
COPY lib/ lib/\n\
RUN for f in lib/*.c; do gcc -O2 -c \"$f\" -o \"${f%.c}.o\"; done\n\
COPY main.c ./\n\
RUN gcc -O2 -static -o /greet main.c lib/*.o\n\
FROM scratch\n\
COPY --from=compile /greet /greet\n\
ENTRYPOINT [\"/greet\"]\n\
CMD [\"world\"]\n";

fn main_c(greeting: &str) -> String {
    format!(
        "#include <stdio.h>\n\
         int shout(const char *s, char *out);\n\
         int main(int argc, char **argv) {{\n\
             char buf[64];\n\
             shout(argc > 1 ? argv[1] : \"nobody\", buf);\n\
             printf(\"{greeting}, %s\\n\", buf);\n\
             return 0;\n\
         }}\n"
    )
}

const SHOUT_C: &str = "#include <ctype.h>\n\
int shout(const char *s, char *out) {\n\
    int n = 0;\n\
    for (; s[n] && n < 63; n++) out[n] = (char)toupper((unsigned char)s[n]);\n\
    out[n] = 0;\n\
    return n;\n\
}\n";

fn write(dir: &Path, path: &str, content: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn build(h: &Hoist, dir: &Path) -> String {
    h.run(&[
        "build",
        "--network",
        "none",
        "-t",
        "test/greet",
        dir.to_str().unwrap(),
    ])
    .ok()
    .stdout
}

fn greet(h: &Hoist, args: &[&str]) -> String {
    let mut all = vec!["run", "--rm", "--network", "none", "test/greet"];
    all.extend_from_slice(args);
    h.run(&all).ok().stdout
}

#[test]
fn a_c_program_compiled_in_a_debian_stage_runs_from_scratch() {
    hoist_testenv::require_file(GCC_BASE, "scripts/make-gcc-base.sh");
    let h = common::local_hoist();
    h.run(&["import", GCC_BASE, BASE]).ok();
    let ctx = tempfile::tempdir().unwrap();
    write(ctx.path(), "Containerfile", CONTAINERFILE);
    write(ctx.path(), "lib/shout.c", SHOUT_C);
    write(ctx.path(), "main.c", &main_c("hello"));

    let first = build(&h, ctx.path());
    assert_eq!(first.matches("Using cache").count(), 0, "{first}");
    assert_eq!(greet(&h, &[]), "hello, WORLD\n");
    assert_eq!(greet(&h, &["hoist"]), "hello, HOIST\n");
    // Only the program: one layer, one file, gcc's stage left behind.
    let inspect = common::inspect(&h, "test/greet");
    assert_eq!(inspect["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(inspect["Config"]["Entrypoint"][0], "/greet");
    assert!(
        inspect["Size"].as_u64().unwrap() < 2_000_000,
        "a static hello is small: {inspect}"
    );

    // Nothing changed: every step from the cache, the same image.
    let again = build(&h, ctx.path());
    assert_eq!(again.lines().last(), first.lines().last(), "{again}");
    assert_eq!(again.matches("Using cache").count(), 7, "{again}");

    // main.c changed: the steps before its COPY come from the cache, the
    // link and the final COPY run again.
    write(ctx.path(), "main.c", &main_c("goodbye"));
    let edited = build(&h, ctx.path());
    assert_eq!(edited.matches("Using cache").count(), 3, "{edited}");
    assert_eq!(greet(&h, &[]), "goodbye, WORLD\n");
    h.run(&["rmi", "-f", "test/greet", BASE]).ok();
}

/// Asks the agent at $SSH_AUTH_SOCK for its identities (the agent
/// protocol's REQUEST_IDENTITIES) and prints their count and comments.
const AGENT_QUERY_C: &str = r#"#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static int readn(int fd, unsigned char *b, size_t n) {
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}
static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
int main(void) {
    const char *path = getenv("SSH_AUTH_SOCK");
    if (!path) { puts("no agent"); return 0; }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
    unsigned char req[5] = {0, 0, 0, 1, 11};
    if (write(fd, req, 5) != 5) return 1;
    unsigned char hdr[4];
    if (readn(fd, hdr, 4)) return 1;
    uint32_t len = be32(hdr);
    unsigned char *m = malloc(len);
    if (!m || len < 5 || readn(fd, m, len) || m[0] != 12) { puts("bad answer"); return 1; }
    uint32_t n = be32(m + 1);
    size_t o = 5;
    printf("%u", n);
    for (uint32_t i = 0; i < n; i++) {
        o += 4 + be32(m + o);
        uint32_t cl = be32(m + o);
        o += 4;
        printf(" %.*s", (int)cl, (const char *)m + o);
        o += cl;
    }
    printf("\n");
    return 0;
}
"#;

/// An ed25519 key without a passphrase, its comment `comment`.
fn keypair(dir: &Path, comment: &str) -> std::path::PathBuf {
    let key = dir.join(comment);
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen (apt-get install openssh-client)");
    assert!(out.status.success(), "{out:?}");
    key
}

/// A running ssh-agent holding `key`; killed when dropped.
struct Agent {
    child: std::process::Child,
    socket: std::path::PathBuf,
}

impl Agent {
    fn with(key: &Path, dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let child = std::process::Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent (apt-get install openssh-client)");
        hoist_testenv::wait_until(
            std::time::Duration::from_secs(10),
            "the agent's socket",
            || socket.exists(),
        );
        let added = std::process::Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &socket)
            .output()
            .unwrap();
        assert!(added.status.success(), "{added:?}");
        Agent { child, socket }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ssh_mounts_reach_the_forwarded_agent_and_leave_no_trace() {
    hoist_testenv::require_file(GCC_BASE, "scripts/make-gcc-base.sh");
    hoist_testenv::require(&["ssh-agent", "ssh-add", "ssh-keygen"]);
    let h = common::local_hoist();
    h.run(&["import", GCC_BASE, BASE]).ok();
    let keys = tempfile::tempdir().unwrap();
    let ctx = tempfile::tempdir().unwrap();
    write(ctx.path(), "agentq.c", AGENT_QUERY_C);
    let containerfile = |steps: &str| {
        write(
            ctx.path(),
            "Containerfile",
            &format!(
                "FROM {BASE}\n\
                 COPY agentq.c /src/\n\
                 RUN gcc -O2 -static -o /agentq /src/agentq.c\n{steps}"
            ),
        )
    };
    let build = |args: &[&str]| {
        let mut all = vec!["build", "--network", "none", "-t", "test/agent"];
        all.extend_from_slice(args);
        all.push(ctx.path().to_str().unwrap());
        h.run(&all)
    };
    let show = |files: &str| {
        h.run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "test/agent",
            "sh",
            "-c",
            files,
        ])
        .ok()
        .stdout
    };

    // A key file: hoist runs an agent for the build. Without its id the
    // mount is left out, as BuildKit does when it is not required.
    let key = keypair(keys.path(), "build-key");
    containerfile(
        "RUN --mount=type=ssh /agentq > /default\n\
         RUN --mount=type=ssh,id=absent /agentq > /absent\n",
    );
    build(&["--ssh", &format!("default={}", key.display())]).ok();
    assert_eq!(
        show("cat /default /absent; test -e /run/buildkit || echo no mount point; echo \"$SSH_AUTH_SOCK\""),
        "1 build-key\nno agent\nno mount point\n\n"
    );
    let env = common::inspect(&h, "test/agent")["Config"]["Env"].to_string();
    assert!(!env.contains("SSH_AUTH_SOCK"), "{env}");

    // An agent's socket, under an id of its own.
    let agent = Agent::with(&keypair(keys.path(), "agent-key"), keys.path());
    // The step's socket has the owner and mode the mount names (BuildKit's
    // defaults root and 0600), not the agent's; the agent's stays as it is.
    let host_mode = || {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(&agent.socket).unwrap();
        (m.mode() & 0o777, m.uid(), m.gid())
    };
    let before = host_mode();
    containerfile(
        "RUN --mount=type=ssh,id=work /agentq > /work; stat -c '%a %u %g' \"$SSH_AUTH_SOCK\" >> /work\n\
         RUN --mount=type=ssh,id=work,uid=1000,gid=1001,mode=0640 stat -c '%a %u %g' \"$SSH_AUTH_SOCK\" > /access\n",
    );
    build(&["--ssh", &format!("work={}", agent.socket.display())]).ok();
    assert_eq!(
        show("cat /work /access"),
        "1 agent-key\n600 0 0\n640 1000 1001\n"
    );
    assert_eq!(host_mode(), before);

    // Required but not given: the step fails, saying how to give it.
    containerfile("RUN --mount=type=ssh,id=deploy,required=true /agentq\n");
    let out = build(&[]).fails_with(125);
    assert!(out.stderr.contains("--ssh deploy"), "{}", out.stderr);
    h.run(&["rmi", "-f", "test/agent", BASE]).ok();
}
