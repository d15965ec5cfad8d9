#!/usr/bin/env bash
# One entry point for a fresh machine.
#   ./bootstrap.sh          install what is missing, start the embedded PostGIS cluster,
#                           migrate it, load the demo district (first time) and serve the app
#   ./bootstrap.sh test     install what is missing and run the full test suite
#   ./bootstrap.sh install  only install (OS packages, virtualenv, the package, translations)
# With DATABASE_URL set, the embedded cluster is not used.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${APT_UPDATED:-}" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    as_root apt-get install -y -qq --no-install-recommends "$@"
}

postgres_major() {
    ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1
}

install_browser() {
    # The browser tests drive Debian's Chromium through Playwright (never a downloaded
    # browser); the CJK fonts let it draw the Chinese pages.
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "Installing ${missing[*]} for the browser tests (apt-get install)…"
        apt_install "${missing[@]}"
    fi
}

install_os_packages() {
    install_browser
    if [ -n "${DATABASE_URL:-}" ]; then
        command -v psql >/dev/null || apt_install postgresql-client
        return
    fi
    if [ -z "$(postgres_major)" ]; then
        echo "Installing PostgreSQL (apt-get install postgresql)…"
        apt_install postgresql postgresql-contrib
    fi
    local major; major=$(postgres_major)
    if [ ! -f "/usr/share/postgresql/${major}/extension/postgis.control" ]; then
        echo "Installing PostGIS for PostgreSQL ${major} (apt-get install postgresql-${major}-postgis-3)…"
        apt_install "postgresql-${major}-postgis-3"
    fi
}

install_print_packages() {
    # WeasyPrint prints the sweep lists: it needs Pango and a font with the Chinese glyphs.
    if ! dpkg -s fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 >/dev/null 2>&1; then
        echo "Installing Pango and the Noto CJK fonts for printed sweep lists…"
        apt_install fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
    fi
}

install_python_package() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; "$PYTHON" -m venv "$VENV"; }
    fi
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-warn-script-location -e '.[dev]'
    "$VENV/bin/pybabel" compile --statistics -d registry/translations >/dev/null
}

install() {
    install_os_packages
    install_print_packages
    install_python_package
}

serve() {
    install
    "$VENV/bin/registry" db init
    "$VENV/bin/registry" demo --size small --if-empty
    echo "Serving on http://127.0.0.1:${PORT:-5000}/ (Ctrl-C to stop; \`.venv/bin/registry db stop\` stops the database)"
    exec "$VENV/bin/registry" serve --port "${PORT:-5000}"
}

run_tests() {
    install
    exec "$VENV/bin/pytest" -n "${TEST_WORKERS:-2}" "$@"
}

case "${1:-serve}" in
    serve) serve ;;
    test) shift; run_tests "$@" ;;
    install) install ;;
    *) echo "usage: $0 [serve|test|install]" >&2; exit 2 ;;
esac
