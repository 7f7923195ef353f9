#!/usr/bin/env bash
# Real Keystone and Masakari API servers (PyPI, 2025.1 "Epoxy", SQLite) for the instance-HA
# cluster test (tests/tests/cluster/instance_ha.rs).
#
#   openstack-apis.sh install
#       Makes (once) a Python venv under ${ROCKOON_CACHE_DIR:-~/.cache/rockoon}/openstack-apis-<hash
#       of openstack-apis-requirements.txt> and prints its folder. Progress goes to stderr.
#   openstack-apis.sh serve <dir> <recorded-url>
#       Configures both services in <dir> (SQLite databases, fernet keys, keystone bootstrap),
#       starts them on free loopback ports (pids in <dir>/pids), registers Masakari (service
#       type instance-ha, RegionOne only) and compute/network endpoints at <recorded-url>
#       (the test's recorded Nova/Neutron responses; RegionOne and RegionTwo), and prints
#       `KEY=value` lines: KEYSTONE_URL, MASAKARI_URL, ADMIN_PASSWORD.
#       Masakari validates tokens through keystonemiddleware with its own service user.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
requirements="$here/openstack-apis-requirements.txt"
cache="${ROCKOON_CACHE_DIR:-$HOME/.cache/rockoon}"
hash=$(cat "$requirements" | sha256sum | cut -c1-12)
venv="$cache/openstack-apis-$hash"
python="${PYTHON:-python3}"

install() {
    if [[ -f "$venv/.complete" ]]; then
        echo "$venv"
        return
    fi
    # Tests start servers in parallel: one installs, the others wait for it.
    mkdir -p "$cache"
    exec 9>"$venv.lock"
    flock 9
    if [[ -f "$venv/.complete" ]]; then
        exec 9>&-
        echo "$venv"
        return
    fi
    echo "openstack-apis: installing keystone and masakari into $venv" >&2
    # Console scripts carry the venv path in their shebang, so it is built in place; the
    # marker says it finished.
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet -r "$requirements" >&2
    touch "$venv/.complete"
    exec 9>&-
    echo "$venv"
}

free_port() {
    "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # url name log
    for _ in $(seq 1 120); do
        if "$venv/bin/python" -c "import sys,urllib.request as u
try: u.urlopen(sys.argv[1], timeout=2)
except Exception as e:
    sys.exit(0 if hasattr(e, 'code') else 1)" "$1"; then
            return 0
        fi
        sleep 0.5
    done
    echo "openstack-apis: $2 did not answer at $1; its log:" >&2
    tail -n 40 "$3" >&2
    return 1
}

# WAL journal: a pooled connection's open read no longer makes another's commit fail with
# "database is locked".
wal() {
    "$venv/bin/python" -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' "$1"
}

serve() {
    local dir=$1 recorded=$2
    install >/dev/null
    mkdir -p "$dir/keystone" "$dir/masakari"
    dir=$(cd "$dir" && pwd)
    local kport mport password service_password
    kport=$(free_port)
    mport=$(free_port)
    password=$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(12))')
    service_password=$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(12))')
    local keystone="http://127.0.0.1:$kport/v3"

    cat >"$dir/keystone/keystone.conf" <<CONF
[DEFAULT]
log_file = $dir/keystone.log
[database]
connection = sqlite:///$dir/keystone/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = $dir/keystone/fernet-keys
[fernet_receipts]
key_repository = $dir/keystone/fernet-receipts
[credential]
key_repository = $dir/keystone/credential-keys
CONF
    export OS_KEYSTONE_CONFIG_FILES="$dir/keystone/keystone.conf"
    local manage=("$venv/bin/keystone-manage" --config-file "$dir/keystone/keystone.conf")
    "${manage[@]}" db_sync >&2
    wal "$dir/keystone/keystone.db"
    "${manage[@]}" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >&2
    "${manage[@]}" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >&2
    "${manage[@]}" bootstrap --bootstrap-password "$password" \
        --bootstrap-admin-url "$keystone" --bootstrap-public-url "$keystone" \
        --bootstrap-internal-url "$keystone" --bootstrap-region-id RegionOne >&2
    "$venv/bin/keystone-wsgi-public" --host 127.0.0.1 --port "$kport" \
        >>"$dir/keystone.out" 2>&1 &
    echo $! >"$dir/pids"
    wait_http "$keystone" keystone "$dir/keystone.out"

    "$venv/bin/python" - "$keystone" "$password" "$service_password" "$mport" "$recorded" >&2 <<'PY'
import sys
from keystoneauth1.identity import v3
from keystoneauth1 import session
from keystoneclient.v3 import client

url, password, service_password, mport, recorded = sys.argv[1:]
auth = v3.Password(auth_url=url, username="admin", password=password, project_name="admin",
                   user_domain_name="Default", project_domain_name="Default")
ks = client.Client(session=session.Session(auth=auth))
ks.regions.create(id="RegionTwo")
project = ks.projects.create("service", "default")
user = ks.users.create("masakari", domain="default", password=service_password)
admin = ks.roles.find(name="admin")
ks.roles.grant(admin, user=user, project=project)
masakari = ks.services.create("masakari", type="instance-ha")
for interface in ("public", "internal", "admin"):
    ks.endpoints.create(masakari, f"http://127.0.0.1:{mport}/v1/%(tenant_id)s",
                        interface=interface, region="RegionOne")
for region in ("RegionOne", "RegionTwo"):
    for name, kind, path in (("nova", "compute", "/compute/v2.1"), ("neutron", "network", "/network")):
        service = ks.services.create(name, type=kind) if region == "RegionOne" else \
            ks.services.find(type=kind)
        for interface in ("public", "internal"):
            ks.endpoints.create(service, recorded.rstrip("/") + path, interface=interface,
                                region=region)
PY

    cp "$venv/etc/masakari/api-paste.ini" "$dir/masakari/"
    cat >"$dir/masakari/masakari.conf" <<CONF
[DEFAULT]
auth_strategy = keystone
log_file = $dir/masakari.log
# The engine is not run: the API records the notification and casts to nobody.
transport_url = fake:/
# Adding a host to a segment asks Nova (the recorded responses) whether the compute exists.
os_privileged_user_name = masakari
os_privileged_user_password = $service_password
os_privileged_user_tenant = service
os_privileged_user_auth_url = $keystone
os_region_name = RegionOne
os_user_domain_name = Default
os_project_domain_name = Default
[database]
connection = sqlite:///$dir/masakari/masakari.db
[keystone_authtoken]
www_authenticate_uri = $keystone
auth_url = $keystone
auth_type = password
username = masakari
password = $service_password
project_name = service
user_domain_name = Default
project_domain_name = Default
CONF
    export OS_MASAKARI_CONFIG_DIR="$dir/masakari"
    "$venv/bin/masakari-manage" --config-file "$dir/masakari/masakari.conf" db sync >&2
    wal "$dir/masakari/masakari.db"
    "$venv/bin/masakari-wsgi" --host 127.0.0.1 --port "$mport" -- \
        --config-file "$dir/masakari/masakari.conf" >>"$dir/masakari.out" 2>&1 &
    echo $! >>"$dir/pids"
    wait_http "http://127.0.0.1:$mport/" masakari "$dir/masakari.out"

    echo "KEYSTONE_URL=$keystone"
    echo "MASAKARI_URL=http://127.0.0.1:$mport/v1"
    echo "ADMIN_PASSWORD=$password"
}

case "${1:-}" in
    install) install ;;
    serve) serve "${2:?dir}" "${3:?recorded-url}" ;;
    *) echo "usage: $0 install | serve <dir> <recorded-url>" >&2; exit 2 ;;
esac
