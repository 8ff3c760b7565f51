//! Processes the tests start themselves: a DynamoDB Local or a moto server of a test's own, to
//! freeze, kill and restart on one port; free ports, waiting for a port, and reading a process's
//! memory.

use std::time::Duration;

use crate::services::{service_setting, unique};

/// A free TCP port on 127.0.0.1 (bound, then released for a server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something accepts connections on 127.0.0.1:`port`; fails naming `what` after
/// `limit`.
pub fn wait_for_port(port: u16, what: &str, limit: Duration) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < limit,
            "{what} did not accept connections on port {port} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A memory figure of process `pid` in KiB, from `/proc/{pid}/status`: `VmRSS` (resident now)
/// or `VmHWM` (the peak).
pub fn memory_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A local service process this test starts, stops, pauses and restarts on one port; it is
/// killed when dropped.
pub struct LocalProcess {
    name: &'static str,
    port: u16,
    /// A data folder to remove at the end.
    data: Option<std::path::PathBuf>,
    command: Box<dyn Fn(u16) -> std::process::Command + Send + Sync>,
    child: Option<std::process::Child>,
}

impl LocalProcess {
    /// A dedicated DynamoDB Local (from `DYNAMODB_LOCAL_DIR`) keeping its data in a folder of
    /// its own, so that the data survives a restart.
    pub fn dynamodb() -> Self {
        let dir = service_setting("DYNAMODB_LOCAL_DIR");
        let data = std::env::temp_dir().join(unique("dynamodb-data"));
        std::fs::create_dir_all(&data).unwrap();
        let folder = data.clone();
        let mut process = Self {
            name: "DynamoDB Local",
            port: free_port(),
            data: Some(folder),
            command: Box::new(move |port| {
                let mut command = std::process::Command::new("java");
                command
                    .current_dir(&dir)
                    .arg("-Djava.library.path=./DynamoDBLocal_lib")
                    .args(["-jar", "DynamoDBLocal.jar", "-sharedDb", "-dbPath"])
                    .arg(&data)
                    .args(["-port", &port.to_string()]);
                command
            }),
            child: None,
        };
        process.restart();
        process
    }

    /// A dedicated moto server (from `MOTO_SERVER_BIN`), not started yet: its port is reserved
    /// and refuses connections until [`LocalProcess::restart`].
    pub fn moto_not_started() -> Self {
        let bin = service_setting("MOTO_SERVER_BIN");
        Self {
            name: "moto's server",
            port: free_port(),
            data: None,
            command: Box::new(move |port| {
                let mut command = std::process::Command::new(&bin);
                command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                command
            }),
            child: None,
        }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Start the process (again) on the same port and wait until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let child = (self.command)(self.port)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name));
        self.child = Some(child);
        wait_for_port(self.port, self.name, Duration::from_secs(60));
    }

    /// Kill the process, as a crash or an outage would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Freeze the process (SIGSTOP): it keeps its port open and answers nothing, like a hung
    /// service.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Let a paused process go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }
}

impl Drop for LocalProcess {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A paused process must be resumed to die cleanly; ignore errors.
            let _ = std::process::Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.kill();
        if let Some(data) = &self.data {
            let _ = std::fs::remove_dir_all(data);
        }
    }
}
