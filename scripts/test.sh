#!/usr/bin/env bash
# Full check used by CI: environment setup, module-boundary checks, formatting lint, build, tests.
# Extra arguments are passed to `swift test` (e.g. --filter IntegrationTests).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh

# Interpreter for Python runtimes started by the tests. An absolute path, but deliberately without
# resolving symlinks (`readlink -f` would give the base interpreter, losing the venv's packages).
LAMBDA_SIM_PYTHON="$(realpath -s .venv/bin/python)"
export LAMBDA_SIM_PYTHON
export PATH="$PWD/.venv/bin:$PATH"

# only_module_imports MODULE DIR: fails if any Swift file outside DIR imports MODULE.
only_module_imports() {
    local module="$1" allowed="$2" offenders
    offenders="$(grep -rlE --include='*.swift' "import[[:space:]]+([a-z]+[[:space:]]+)?${module}([^[:alnum:]_]|\$)" \
        Sources Tests | grep -v "^${allowed}/" || true)"
    if [[ -n "$offenders" ]]; then
        echo "test: only ${allowed}/ may import ${module}, but these files do:" >&2
        echo "$offenders" >&2
        exit 1
    fi
    echo "test: ${module} is imported only under ${allowed}/"
}
only_module_imports CLibUV Sources/SimUV
only_module_imports CHTTPParser Sources/SimHTTP

# The domain stays pure: Sources/SimDomain may import SimCore, the standard library (Swift) and swift-collections'
# DequeModule (a value type with no I/O) only.
domain_imports="$(grep -rhoE --include='*.swift' '^[[:space:]]*(@[[:alnum:]_]+[[:space:]]+)*import[[:space:]]+([a-z]+[[:space:]]+)?[[:alnum:]_.]+' \
    Sources/SimDomain | awk '{print $NF}' | sort -u | grep -vxE 'SimCore|Swift|DequeModule' || true)"
if [[ -n "$domain_imports" ]]; then
    echo "test: Sources/SimDomain may import only SimCore, the standard library and DequeModule, but imports:" >&2
    echo "$domain_imports" >&2
    exit 1
fi
echo "test: Sources/SimDomain imports only SimCore, the standard library and DequeModule"

if [[ -f .swift-format ]]; then
    echo "test: swift format lint"
    swift format lint --strict --recursive Sources Tests Package.swift Benchmarks Fuzz Examples
fi

# The C floor tools (Benchmarks/Floor), which scripts/measure-cpu.sh and the benchmarks build, stay warning-free.
echo "test: Benchmarks/Floor compiles"
"${CC:-$(command -v clang || command -v gcc || command -v cc)}" -O2 -Wall -Wextra -Werror -pthread -o /dev/null \
    Benchmarks/Floor/*.c
# So do the one-file floors of scripts/perf (the generator's models, freezing), each a program of its own.
for floor in scripts/perf/*.c; do
    echo "test: ${floor} compiles"
    "${CC:-$(command -v clang || command -v gcc || command -v cc)}" -O2 -Wall -Wextra -Werror -o /dev/null "$floor"
done

echo "test: swift build --build-tests"
swift build --build-tests
# Serially: the integration tests start real runtimes, extensions and memory hogs, and timing checks
# (timeouts, SHUTDOWN deadlines) are only meaningful when the two cores are not shared by every test at once.
echo "test: swift test --no-parallel $*"
swift test --no-parallel "$@"

# The library as a user's package uses it: Examples/RuntimeTests depends on lambda-sim by path and tests a runtime
# and an extension through the public API only (its tests are the code of the DocC articles).
echo "test: swift test --package-path Examples/RuntimeTests"
LAMBDA_SIM_FIXTURE="$PWD/.build/debug/lambda-sim-fixture" swift test --package-path Examples/RuntimeTests

# The documentation: every public declaration documented, every symbol link resolved.
echo "test: swift package generate-documentation --target LambdaSim --warnings-as-errors"
swift package generate-documentation --target LambdaSim --warnings-as-errors
