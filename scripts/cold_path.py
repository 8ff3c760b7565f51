"""The cold path as Lambda runs it: each function's release bootstrap under AWS's Lambda Runtime
Interface Emulator, with TLS in front of every service it calls and its CPU limited to the share
Lambda gives each memory size.

Run by scripts/bench-cold-path, which builds the bootstraps, starts DynamoDB Local, moto and the
development JWKS, and sets the functions' configuration in the environment. This script:

- makes a throwaway CA and a certificate for `localhost`, and puts a TLS-terminating proxy in
  front of each service (DynamoDB, Secrets Manager, the JWKS); the functions reach them only
  over `https://localhost:…`;
- lets the bootstraps trust that CA through the system root store they load on Lambda
  (rustls-native-certs): `SSL_CERT_FILE` names a bundle of this machine's roots plus the CA,
  which is where that loader reads the store from when the variable is set;
- runs each bootstrap in a CPU cgroup whose quota is Lambda's share for the memory size
  (1,769 MB is one vCPU: quota = period × MB / 1769), cgroup v1 or v2; where no cgroup can be
  made it says why and measures without a limit only.

For each function, memory size and period it reports, over fresh processes (the emulator starts
the bootstrap at the first invocation): INIT (the emulator's INIT REPORT), the first
invocation (INVOKE RTDONE), the cold first response as the caller sees it (wall time of the first
invoke: process start, init and the first invocation), the CPU the process spent to get there
(its schedstat, which counts every thread), warm p50 and p99 of the REPORT durations, and the
peak RSS.

    cold_path.py [--runs N] [--warm N] [--periods 100,20] [--memory 128,256,...] [--quick]
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lambda_emulator import INIT_REPORT, REPORT, Emulator, fail  # noqa: E402

INVOKE_DONE = re.compile(r"INVOKE RTDONE\(status: (\w+).*duration: ([\d.]+)ms\)")
ONE_VCPU_MB = 1769
FUNCTIONS = [
    # (package, fixture, what its cold path fetches)
    ("sidebar", "sidebar-valid", "Secrets Manager (app key, session key), DynamoDB (installation)"),
    ("todos", "todos-list", "JWKS, DynamoDB"),
    ("sdk-exchange", "sdk-exchange-valid", "Secrets Manager (shared secret), DynamoDB (user token)"),
]
SYSTEM_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"]


# ---------------------------------------------------------------------------------------------
# A throwaway CA, and TLS in front of each service


def make_certificates(work):
    """A CA and a certificate for localhost / 127.0.0.1 signed by it; returns (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (work / n for n in ("ca.key", "ca.pem", "tls.key", "tls.csr", "tls.pem"))
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(ca_key), "-out", str(ca), "-days", "1", "-subj", "/CN=cold-path throwaway CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    ext = work / "tls.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                   "basicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "1", "-extfile", str(ext))
    return ca, cert, key


def root_bundle(work, ca):
    """This machine's root store plus the throwaway CA, as one PEM file."""
    system = next((Path(p) for p in SYSTEM_BUNDLES if Path(p).is_file()), None)
    if system is None:
        fail(f"no system root bundle at {' or '.join(SYSTEM_BUNDLES)}")
    bundle = work / "roots.pem"
    bundle.write_text(system.read_text() + "\n" + ca.read_text())
    return bundle, len(re.findall("BEGIN CERTIFICATE", bundle.read_text()))


class TlsProxies:
    """TLS-terminating proxies on free ports, each forwarding to one plain-TCP service."""

    def __init__(self, cert, key, backends):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.backends = backends
        self.ports = {}
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, daemon=True).start()
        if not self.ready.wait(10):
            fail("the TLS proxies did not start")

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self):
        for name, (host, port) in self.backends.items():
            server = await asyncio.start_server(
                lambda r, w, h=host, p=port: self._pipe(r, w, h, p), "127.0.0.1", 0, ssl=self.context)
            self.ports[name] = server.sockets[0].getsockname()[1]

    async def _pipe(self, reader, writer, host, port):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return

        async def copy(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
                pass
            finally:
                try:
                    sink.close()
                except Exception:  # noqa: BLE001 - closing a broken connection
                    pass

        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))


# ---------------------------------------------------------------------------------------------
# CPU cgroups


class CpuGroup:
    """A CPU cgroup limited to `quota_us` per `period_us` (None: no limit)."""

    def __init__(self, name):
        self.path = None
        self.version = None
        self.problem = None
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        try:
            if v2.is_file() and "cpu" in v2.read_text().split():
                path = Path("/sys/fs/cgroup") / name
                path.mkdir(exist_ok=True)
                self.path, self.version = path, 2
            elif Path("/sys/fs/cgroup/cpu/cgroup.procs").is_file():
                path = Path("/sys/fs/cgroup/cpu") / name
                path.mkdir(exist_ok=True)
                self.path, self.version = path, 1
            else:
                self.problem = "no cgroup v2 cpu controller and no cgroup v1 cpu hierarchy is mounted"
        except OSError as error:
            self.problem = f"cannot make a cgroup ({error.strerror}); run as root on a machine whose cgroups are writable"

    def limit(self, quota_us, period_us):
        if self.version == 2:
            (self.path / "cpu.max").write_text(f"{quota_us or 'max'} {period_us}\n")
        else:
            (self.path / "cpu.cfs_period_us").write_text(f"{period_us}\n")
            (self.path / "cpu.cfs_quota_us").write_text(f"{quota_us or -1}\n")

    def enter(self, pid):
        """Put the process `pid` (and what it starts from now on) in the group."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def remove(self):
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# One fresh process, measured


def child_pid(pid):
    """The bootstrap: the process the emulator started (any of its threads may have started it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        if children:
            return int(children[0])
    return None


def cpu_ms(pid):
    """CPU time of every thread of `pid` so far (schedstat: nanoseconds on a CPU)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[0])
    return total / 1e6


def peak_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def one_cold_start(bootstrap, env, event, warm, group, settle_s):
    """A fresh process: the cold invocation, then `warm` warm ones. Returns a dict of figures.

    The emulator starts in the group (its Runtime API work counts against the share, as the
    sandbox's own does on Lambda), then `settle_s` passes before the cold invocation: on Lambda
    the sandbox is up before the request arrives, so the emulator's own start (a Go process) must
    not spend the quota of the period the bootstrap starts in.
    """
    on_start = group.enter if group is not None and group.path is not None else None
    with Emulator(bootstrap, env, on_start=on_start) as emulator:
        time.sleep(settle_s)
        started = time.monotonic()
        status, body, report, _ = emulator.invoke(event)
        cold_ms = (time.monotonic() - started) * 1000
        if status != 200 or report is None:
            fail(f"{bootstrap}: the cold invocation answered {status}: {body[:300]!r}\n" + "\n".join(emulator.lines[-15:]))
        answer = json.loads(body)
        if answer.get("statusCode") != 200:
            fail(f"{bootstrap}: the function answered {answer.get('statusCode')}: {answer.get('body', '')[:300]}\n"
                 + "\n".join(emulator.lines[-15:]))
        pid = child_pid(emulator.process.pid)
        cold_cpu = cpu_ms(pid) if pid else float("nan")
        init = float(next(m.group(1) for line in emulator.lines if (m := INIT_REPORT.search(line))))
        first = float(next(m.group(2) for line in emulator.lines if (m := INVOKE_DONE.search(line))))
        durations = []
        for _ in range(warm):
            status, _, report, _ = emulator.invoke(event)
            if status != 200 or report is None:
                fail(f"{bootstrap}: a warm invocation answered {status}")
            durations.append(float(REPORT.match(report).group(2)))
        rss = peak_rss_mib(pid) if pid else float("nan")
    return {"init": init, "first": first, "cold": cold_ms, "cold_cpu": cold_cpu,
            "warm": durations, "rss": rss}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="folder of the release bootstraps")
    parser.add_argument("--events", required=True, help="folder of the fixtures")
    parser.add_argument("--env", required=True, help="the functions' configuration: `export NAME='value'` lines")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per row")
    parser.add_argument("--warm", type=int, default=200, help="warm invocations per row")
    parser.add_argument("--memory", default="128,256,512,1024,1769")
    parser.add_argument("--periods", default="100,20", help="CFS periods in ms")
    parser.add_argument("--functions", default="sidebar,todos,sdk-exchange")
    parser.add_argument("--settle", type=float, default=None,
                        help="seconds between the emulator's start and the cold invocation "
                             "(default: two periods; 0 measures the emulator's start in the same quota)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="one more setting for the functions (e.g. PREFETCH_AT_INIT=false)")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--parts", help="the cold-path-parts binary: CPU time of each part of the cold path")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cold-path."))
    ca, cert, key = make_certificates(work)
    bundle, roots = root_bundle(work, ca)
    def backend(variable):
        match = re.match(r"^https?://([^/:]+):(\d+)", os.environ[variable])
        return match.group(1), int(match.group(2))
    proxies = TlsProxies(cert, key, {
        "dynamodb": backend("AWS_ENDPOINT_URL_DYNAMODB"),
        "secretsmanager": backend("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
        "jwks": backend("HELP_CENTER_JWKS_URL"),
    })
    jwks_path = re.sub(r"^https?://[^/]+", "", os.environ["HELP_CENTER_JWKS_URL"])
    # What a Lambda function has: its configuration and the AWS variables, nothing of this shell.
    env = dict(re.findall(r"^export (\w+)='([^']*)'$", Path(args.env).read_text(), re.M))
    env.update({name: value for name, value in os.environ.items()
                if name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")})
    env.update({
        "AWS_ENDPOINT_URL_DYNAMODB": f"https://localhost:{proxies.ports['dynamodb']}",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"https://localhost:{proxies.ports['secretsmanager']}",
        "HELP_CENTER_JWKS_URL": f"https://localhost:{proxies.ports['jwks']}{jwks_path}",
        "SSL_CERT_FILE": str(bundle),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "10",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
    })
    env.update(setting.split("=", 1) for setting in args.set)

    group = CpuGroup(f"zendesk-cold-path-{os.getpid()}")
    memories = [int(m) for m in args.memory.split(",")]
    periods = [int(p) for p in args.periods.split(",")]
    if group.path is None:
        print(f"CPU share: not applied: {group.problem}. Measuring without a CPU limit only.\n")
        configurations = [(None, None)]
    else:
        configurations = [(mb, period) for period in periods for mb in memories]
    print(f"machine: {os.uname().machine}, {os.cpu_count()} cores; TLS to every service through a "
          f"local proxy, {roots} roots in the store the bootstraps load"
          + (f"; set: {', '.join(args.set)}" if args.set else ""))
    print(f"{args.runs} fresh processes per row; warm p50/p99 over {args.warm} invocations of the "
          f"last; medians of the cold figures (min in brackets); the cold invocation "
          f"{'sent as soon as the emulator listens' if args.settle == 0 else 'sent once the emulator has settled (two periods)' if args.settle is None else f'sent {args.settle} s after the emulator listens'}\n")
    print("| function | memory (CPU share) | period | INIT ms | first invocation ms | cold first response ms | "
          "cold CPU ms | warm p50 ms | warm p99 ms | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    try:
        for package in args.functions.split(","):
            fixture = next(f for p, f, _ in FUNCTIONS if p == package)
            event = (Path(args.events) / f"{fixture}.json").read_bytes()
            for mb, period in configurations:
                function_env = {**env, "AWS_LAMBDA_FUNCTION_NAME": package,
                                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(mb or 1769)}
                if mb is not None:
                    period_us = period * 1000
                    group.limit(round(period_us * mb / ONE_VCPU_MB), period_us)
                settle_s = args.settle if args.settle is not None else 2 * (period or 100) / 1000
                runs = [one_cold_start(Path(args.bin) / package, function_env, event,
                                       args.warm if i == args.runs - 1 else 0,
                                       group if mb is not None else None, settle_s)
                        for i in range(args.runs)]
                med = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
                low = lambda key: min(r[key] for r in runs)  # noqa: E731
                warm = runs[-1]["warm"]
                row = {"function": package, "memory_mb": mb, "period_ms": period,
                       **{k: med(k) for k in ("init", "first", "cold", "cold_cpu", "rss")},
                       **{f"{k}_min": low(k) for k in ("init", "first", "cold", "cold_cpu")},
                       "warm_p50": percentile(warm, 50) if warm else None,
                       "warm_p99": percentile(warm, 99) if warm else None}
                rows.append(row)
                share = f"{mb} MB ({mb / ONE_VCPU_MB:.0%})" if mb else "no limit"
                warm_text = (f"{row['warm_p50']:.2f} | {row['warm_p99']:.2f}" if warm else "— | —")
                print(f"| {package} | {share} | {f'{period} ms' if period else '—'} | "
                      f"{row['init']:.1f} ({row['init_min']:.1f}) | {row['first']:.1f} ({row['first_min']:.1f}) | "
                      f"{row['cold']:.1f} ({row['cold_min']:.1f}) | {row['cold_cpu']:.1f} | {warm_text} | "
                      f"{row['rss']:.1f} |", flush=True)
        if args.parts:
            print("\nCPU time of each part of the cold path, in one fresh process with the same "
                  "environment (cold-path-parts; CPU time does not depend on the share):\n")
            parts = subprocess.run([args.parts], env={**env, "DEV_DIR": os.environ["DEV_DIR"],
                                                       "PATH": os.environ["PATH"]},
                                   capture_output=True, text=True, timeout=120)
            if parts.returncode != 0:
                fail(f"cold-path-parts failed:\n{parts.stdout}\n{parts.stderr}")
            print(parts.stdout, end="")
    finally:
        group.remove()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
