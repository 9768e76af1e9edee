#!/usr/bin/env python3
"""libhookd as a host meets it; tests/CMakeLists.txt runs each mode as one ctest.

  embedding_test.py MODE --build-dir DIR --source-dir DIR --cxx PATH --library PATH
                         [--sanitize ON|OFF]

MODE:
  installed-package  cmake --install the development component to a temporary prefix,
                     build examples/embedding against it with find_package(hookd), run
                     it with a local receiver: a POST /orders reaches the receiver as a
                     signed delivery, the observer prints it, SIGTERM exits 0.
  pkg-config         build tests/embedding/minimal_host.cpp with c++ and
                     `pkg-config --cflags --libs hookd` from that prefix alone, run it.
  add-subdirectory   configure (not build) tests/embedding/subdirectory_host, which
                     add_subdirectory()s hookd: it configures, links hookd::engine, and
                     leaves hookd's server, tests and benchmarks out.
  exports            nm -DC: libhookd exports nothing outside namespace hookd.

With --sanitize ON (hookd built with HOOKD_SANITIZE) the hosts are built with the same
sanitizers: an ASan library needs an ASan host. Uses ccache when it is on the PATH.
Environment: ASAN_OPTIONS and UBSAN_OPTIONS reach the hosts; TMPDIR is where the
temporary directory goes; HOOKD_KEEP_TEMP=1 keeps it. Progress goes to stderr; a failure
says what was expected, what happened and the output of the step that failed.
"""

import argparse
import glob
import http.client
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SANITIZE_COMPILE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                    "-fno-sanitize-recover=all"]
SANITIZE_LINK = ["-fsanitize=address,undefined"]
ORDER = b'{"customer": {"id": 42}}'
# hookd minifies the payload and puts the delivery's uuid and the event type in front.
DELIVERED_BODY = '{{"uuid":"{uuid}","action":"customer_created","customer":{{"id":42}}}}'


class Failure(Exception):
    pass


def progress(message):
    print(f"embedding_test: {message}", file=sys.stderr, flush=True)


def run(command, what, timeout, cwd=None, env=None):
    """Runs a step to completion; a non-zero exit is a failure showing its output."""
    progress(f"{what}: {' '.join(command)}")
    try:
        done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise Failure(f"{what} took longer than {timeout} s; its output:\n{e.output or ''}")
    if done.returncode != 0:
        raise Failure(f"{what} exited {done.returncode}; its output:\n{done.stdout}")
    return done.stdout


def ccache_env(tmp):
    """The launcher and environment that let ccache hit although every run has its own
    temporary directory: paths under it are hashed relative to it."""
    ccache = shutil.which("ccache")
    env = dict(os.environ)
    if ccache:
        env["CCACHE_BASEDIR"] = tmp
        env["CCACHE_NOHASHDIR"] = "1"
    return ccache, env


def install(args, tmp):
    prefix = os.path.join(tmp, "prefix")
    run(["cmake", "--install", args.build_dir, "--prefix", prefix, "--component",
         "development"], "install hookd's development component", timeout=120)
    return prefix


# --- installed-package --------------------------------------------------------------

class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1:0 that answers 200 and keeps what it got."""

    daemon_threads = True

    def __init__(self):
        self.requests = []  # (path, headers, body)
        self.changed = threading.Condition()
        super().__init__(("127.0.0.1", 0), ReceiverHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.changed:
            self.server.requests.append((self.path, dict(self.headers.items()), body))
            self.server.changed.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Service:
    """orders_service as a child process; its stdout lines are collected as they come."""

    def __init__(self, command, stderr_path):
        self.stderr_path = stderr_path
        self.lines = []
        self.changed = threading.Condition()
        progress(f"start: {' '.join(command)}")
        with open(stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr,
                                            text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()  # end of output: waiters re-check the process

    def wait_for_line(self, pattern, what, timeout):
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines:
                    if match := re.fullmatch(pattern, line):
                        return match
                if self.process.poll() is not None:
                    raise Failure(f"orders_service exited {self.process.returncode} before "
                                  f"{what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"orders_service did not print {what} within {timeout} s")
                self.changed.wait(min(left, 0.5))

    def output(self):
        with open(self.stderr_path, errors="replace") as f:
            stderr = f.read()
        with self.changed:
            stdout = "\n".join(self.lines)
        return f"orders_service's stdout:\n{stdout}\norders_service's stderr:\n{stderr}"

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_for_delivery(receiver, timeout):
    """The first request the receiver got, once one came."""
    deadline = time.monotonic() + timeout
    with receiver.changed:
        while not receiver.requests:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"the receiver got no request within {timeout} s")
            receiver.changed.wait(left)
        return receiver.requests[0]


def installed_package(args, tmp):
    prefix = install(args, tmp)
    build = os.path.join(tmp, "orders")
    ccache, env = ccache_env(tmp)
    configure = ["cmake", "-S", os.path.join(args.source_dir, "examples", "embedding"),
                 "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug",
                 f"-DCMAKE_CXX_COMPILER={args.cxx}", f"-DCMAKE_PREFIX_PATH={prefix}"]
    if ccache:
        configure.append(f"-DCMAKE_CXX_COMPILER_LAUNCHER={ccache}")
    if args.sanitize:
        configure += [f"-DCMAKE_CXX_FLAGS={' '.join(SANITIZE_COMPILE)}",
                      f"-DCMAKE_EXE_LINKER_FLAGS={' '.join(SANITIZE_LINK)}"]
    run(configure, "configure examples/embedding", timeout=120, env=env)
    run(["cmake", "--build", build, "--parallel", "2"], "build examples/embedding",
        timeout=300, env=env)

    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    service = Service([os.path.join(build, "orders_service"), os.path.join(tmp, "data"), "0",
                       receiver.url], os.path.join(tmp, "orders_service.stderr"))
    try:
        port = int(service.wait_for_line(r"listening on (\d+)", "'listening on PORT'",
                                         timeout=60).group(1))
        progress(f"POST /orders to 127.0.0.1:{port}")
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        client.request("POST", "/orders", body=ORDER,
                       headers={"Content-Type": "application/json"})
        response = client.getresponse()
        answer = response.read().decode(errors="replace")
        client.close()
        if response.status != 202:
            raise Failure(f"POST /orders answered {response.status}, not 202: {answer}")
        progress(f"202, event {answer.strip()}; waiting for the delivery")

        path, headers, body = wait_for_delivery(receiver, timeout=60)
        headers = {k.lower(): v for k, v in headers.items()}
        uuid = headers.get("webhook-id", "")
        expected = DELIVERED_BODY.format(uuid=uuid).encode()
        if path != "/hooks" or body != expected:
            raise Failure(f"the receiver got {path} {body!r}, expected /hooks {expected!r}")
        if not re.fullmatch(r"v1,[A-Za-z0-9+/]+=*( v1,[A-Za-z0-9+/]+=*)*",
                            headers.get("webhook-signature", "")):
            raise Failure(f"no valid webhook-signature header; headers: {headers}")
        service.wait_for_line(rf"delivered {re.escape(uuid)} attempt 1 status 200",
                              f"'delivered {uuid} attempt 1 status 200'", timeout=60)

        progress("delivered and observed; SIGTERM")
        service.process.send_signal(signal.SIGTERM)
        try:
            code = service.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure("orders_service did not exit within 60 s of SIGTERM")
        if code != 0:
            raise Failure(f"orders_service exited {code} after SIGTERM, expected 0")
        service.reader.join(timeout=10)
        progress("orders_service exited 0")
    except Failure as e:
        service.kill()
        raise Failure(f"{e}\n{service.output()}") from None
    finally:
        service.kill()
        receiver.shutdown()
        receiver.server_close()


# --- pkg-config ---------------------------------------------------------------------

def pkg_config(args, tmp):
    prefix = install(args, tmp)
    pc_files = glob.glob(os.path.join(prefix, "**", "pkgconfig", "hookd.pc"), recursive=True)
    if not pc_files:
        raise Failure(f"no hookd.pc under {prefix}")
    ccache, env = ccache_env(tmp)
    env["PKG_CONFIG_PATH"] = os.path.dirname(pc_files[0])
    flags = run(["pkg-config", "--cflags", "--libs", "hookd"], "pkg-config hookd", timeout=30,
                env=env).split()
    # A host may only see this prefix: a path elsewhere (the build's
    # CMAKE_INSTALL_PREFIX) would find another hookd, or none.
    for flag in flags:
        if flag.startswith(("-I", "-L")) and not flag[2:].startswith(prefix):
            raise Failure(f"pkg-config gives {flag}, outside the prefix {prefix} that "
                          f"{pc_files[0]} was installed to (hookd.pc says:\n"
                          f"{open(pc_files[0]).read()})")
    libdirs = [flag[2:] for flag in flags if flag.startswith("-L")]
    if not libdirs:
        raise Failure(f"pkg-config gives no -L for hookd: {' '.join(flags)}")
    host = os.path.join(tmp, "minimal_host")
    compile_command = [args.cxx, "-std=c++20", "-o", host,
                       os.path.join(args.source_dir, "tests", "embedding", "minimal_host.cpp"),
                       *flags, f"-Wl,-rpath,{libdirs[0]}"]
    if args.sanitize:
        compile_command[1:1] = SANITIZE_COMPILE + SANITIZE_LINK
    if ccache:
        compile_command.insert(0, ccache)
    run(compile_command, "build minimal_host", timeout=300, cwd=tmp, env=env)
    output = run([host, os.path.join(tmp, "data")], "run minimal_host", timeout=60)
    progress(f"minimal_host: {output.strip()}")


# --- add-subdirectory ---------------------------------------------------------------

def add_subdirectory(args, tmp):
    build = os.path.join(tmp, "host")
    run(["cmake", "-S", os.path.join(args.source_dir, "tests", "embedding",
                                     "subdirectory_host"),
         "-B", build, "-G", "Ninja", f"-DCMAKE_CXX_COMPILER={args.cxx}",
         f"-DHOOKD_SOURCE_DIR={args.source_dir}"],
        "configure a host that add_subdirectory()s hookd", timeout=180)
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        cache = f.read()
    for option in ("HOOKD_BUILD_SERVER", "HOOKD_BUILD_TESTS", "HOOKD_BUILD_BENCH"):
        if not re.search(rf"^{option}:BOOL=OFF$", cache, re.MULTILINE):
            raise Failure(f"{option} is not OFF in a host's build; CMakeCache.txt has: "
                          f"{re.findall(rf'^{option}:.*$', cache, re.MULTILINE)}")
    targets = run(["ninja", "-C", build, "-t", "targets", "all"], "list the host's targets",
                  timeout=60)
    outputs = {line.split(":")[0] for line in targets.splitlines()}
    unwanted = sorted(o for o in outputs
                      if re.match(r"hookd/(api|tools|tests|bench)/", o) or o == "hookd/hookd")
    if unwanted:
        raise Failure("hookd's server, tests or benchmarks are part of a host's build: "
                      + ", ".join(unwanted[:20]))
    if not any(re.fullmatch(r"hookd/engine/libhookd\.so(\.[0-9.]+)?", o) for o in outputs):
        raise Failure("the host's build does not make hookd/engine/libhookd.so; targets:\n"
                      + targets)
    with open(os.path.join(build, "build.ninja")) as f:
        ninja = f.read()
    link = re.search(r"^build minimal_host: .*$", ninja, re.MULTILINE)
    if not link or "hookd/engine/libhookd.so" not in link.group(0):
        raise Failure("minimal_host does not link hookd/engine/libhookd.so; its build "
                      f"line: {link.group(0) if link else 'none'}")
    progress(f"configured: {len(outputs)} build outputs, none of hookd's server or tests")


# --- exports ------------------------------------------------------------------------

# What engine/libhookd.map lets out: the namespace and its classes' type information.
ALLOWED_EXPORT = re.compile(r"(typeinfo for |typeinfo name for |vtable for )?hookd::")


def exports(args, tmp):
    symbols = run(["nm", "-DC", "--defined-only", args.library], "list the exports",
                  timeout=60)
    names = [line.split(None, 2)[2] for line in symbols.splitlines()
             if len(line.split(None, 2)) == 3]
    if not any(name.startswith("hookd::library_version()") for name in names):
        raise Failure(f"{args.library} does not export hookd::library_version(); nm says:\n"
                      + symbols)
    foreign = [name for name in names if not ALLOWED_EXPORT.match(name)]
    if foreign:
        asio = [name for name in foreign if "boost::asio" in name or "boost::beast" in name]
        raise Failure(f"{args.library} exports {len(foreign)} symbols outside namespace "
                      f"hookd ({len(asio)} of Asio or Beast), e.g.:\n  "
                      + "\n  ".join(foreign[:30]))
    progress(f"{len(names)} exports, all in namespace hookd")


MODES = {
    "installed-package": installed_package,
    "pkg-config": pkg_config,
    "add-subdirectory": add_subdirectory,
    "exports": exports,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--build-dir", required=True, help="hookd's build directory")
    parser.add_argument("--source-dir", required=True, help="hookd's source directory")
    parser.add_argument("--cxx", required=True, help="the C++ compiler hookd was built with")
    parser.add_argument("--library", required=True, help="libhookd.so of that build")
    parser.add_argument("--sanitize", default="OFF",
                        help="ON when hookd was built with HOOKD_SANITIZE")
    args = parser.parse_args()
    args.sanitize = args.sanitize.upper() in ("1", "ON", "TRUE", "YES")
    args.source_dir = os.path.abspath(args.source_dir)
    args.build_dir = os.path.abspath(args.build_dir)

    tmp = tempfile.mkdtemp(prefix=f"hookd-embedding-{args.mode}-")
    try:
        MODES[args.mode](args, tmp)
    except Failure as e:
        print(f"FAILED ({args.mode}): {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        if os.environ.get("HOOKD_KEEP_TEMP") == "1":
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.mode}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
