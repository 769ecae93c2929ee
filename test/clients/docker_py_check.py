#!/usr/bin/env python3
"""Debian's python3-docker (docker-py 5.0.3) against a redesd, one JSON line per step.

Use: DOCKER_HOST=unix:///run/redes/N/docker.sock python3 docker_py_check.py PREFIX
  (run inside the sandbox's host namespace: `redes sandbox exec N -- python3 ...`).
  Each line is {"step": NAME, "ok": true, ...facts} or {"step": NAME, "ok": false, "error": TEXT};
  the e2e test (test/e2e/clients-py.test.ts) asserts on the facts, so a failure names what broke.
Beware: every object it makes is named PREFIX-...; it removes them all at the end (even after a
  failed step), and every step runs even when an earlier one failed.
"""
import io
import json
import sys
import tarfile
import time
import traceback

import docker
from docker.errors import APIError, NotFound

PREFIX = sys.argv[1] if len(sys.argv) > 1 else 'dpy'
client = docker.from_env(timeout=60)
api = client.api
state = {}


def emit(step, ok, **facts):
    print(json.dumps({'step': step, 'ok': ok, **facts}, default=str), flush=True)


def step(fn):
    try:
        facts = fn() or {}
        emit(fn.__name__, True, **facts)
    except Exception as e:  # every failure becomes a line the test prints
        emit(fn.__name__, False, error=f'{type(e).__name__}: {e}', trace=traceback.format_exc(limit=3))


def name(suffix):
    return f'{PREFIX}-{suffix}'


def ping():
    return {'ping': client.ping(), 'api_version': api.api_version, 'server': client.version().get('Version')}


def networks():
    net = client.networks.create(name('net'), driver='bridge', labels={'dpy': '1'},
                                 ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet='10.231.7.0/24', gateway='10.231.7.1')]))
    state['net'] = net
    got = api.inspect_network(net.id)
    srv = client.containers.run('busybox', ['sleep', '300'], name=name('srv'), detach=True)
    state['srv'] = srv
    cli = client.containers.run('busybox', ['sleep', '300'], name=name('cli'), detach=True, network=name('net'))
    state['cli'] = cli
    net.connect(srv, aliases=['dbalias', 'other'], ipv4_address='10.231.7.50', driver_opt={'com.docker-py.setting': 'on'})
    srv.reload()
    ep = srv.attrs['NetworkSettings']['Networks'][name('net')]
    net.reload()
    members = sorted(c.name for c in net.containers)
    code, out = cli.exec_run(['ping', '-c1', '-W3', 'dbalias'])
    ping_alias = out.decode(errors='replace')
    net.disconnect(srv)
    srv.reload()
    after = sorted(srv.attrs['NetworkSettings']['Networks'].keys())
    listed = [n.name for n in client.networks.list(filters={'label': 'dpy=1'})]
    return {
        'subnet': got['IPAM']['Config'][0]['Subnet'], 'gateway': got['IPAM']['Config'][0].get('Gateway'),
        'labels': got['Labels'], 'driver': got['Driver'],
        'aliases': ep.get('Aliases') or [], 'driver_opts': ep.get('DriverOpts'), 'ip': ep.get('IPAddress'), 'ipam_ip': (ep.get('IPAMConfig') or {}).get('IPv4Address'),
        'members': members, 'alias_ping_code': code, 'alias_ping': ping_alias.strip().splitlines()[-1:] if ping_alias else [],
        'after_disconnect': after, 'listed_by_label': listed,
    }


def containers():
    c = client.containers.run('busybox', ['sh', '-c', 'echo out-line; echo err-line >&2; sleep 300'],
                              name=name('life'), detach=True, labels={'dpy': 'life'}, environment={'DPY': 'yes'})
    state['life'] = c
    deadline = time.time() + 20
    while b'err-line' not in c.logs() and time.time() < deadline:
        time.sleep(0.2)
    both = c.logs().decode()
    out_only = c.logs(stdout=True, stderr=False).decode()
    ex = c.exec_run(['sh', '-c', 'echo $DPY; exit 3'])
    demux = c.exec_run(['sh', '-c', 'echo to-out; echo to-err >&2'], demux=True)
    c.reload()
    status_running = c.status
    c.stop(timeout=2)
    c.reload()
    code = c.wait(timeout=30)['StatusCode']
    status_stopped = c.status
    c.remove()
    try:
        client.containers.get(c.id)
        gone = False
    except NotFound:
        gone = True
    del state['life']
    return {
        'logs': both, 'logs_stdout': out_only, 'exec_code': ex.exit_code, 'exec_out': ex.output.decode(),
        'demux': [x.decode() if x is not None else None for x in demux.output],
        'running': status_running, 'stopped': status_stopped, 'exit_code': code, 'removed': gone,
    }


def volumes():
    v = client.volumes.create(name('vol'), labels={'dpy': 'vol'})
    got = api.inspect_volume(v.name)
    listed = [x.name for x in client.volumes.list(filters={'label': 'dpy=vol'})]
    c = client.containers.run('busybox', ['sh', '-c', 'echo persisted > /data/f'], volumes={v.name: {'bind': '/data', 'mode': 'rw'}},
                              name=name('volw'), detach=True)
    c.wait(timeout=30)
    c.remove()
    out = client.containers.run('busybox', ['cat', '/data/f'], volumes={v.name: {'bind': '/data', 'mode': 'ro'}}, remove=True)
    v.remove()
    # volumes=['/x'] (a destination alone in Binds) is an anonymous volume; remove(v=True) takes it along.
    a = client.containers.run('busybox', ['true'], name=name('anon'), detach=True, volumes=['/anon'])
    a.wait(timeout=30)
    a.reload()
    anon = [(m['Type'], len(m.get('Name', '')), m['Destination'], m['RW']) for m in a.attrs['Mounts']]
    anon_name = a.attrs['Mounts'][0]['Name'] if a.attrs['Mounts'] else ''
    a.remove(v=True)
    anon_left = any(x.name == anon_name for x in client.volumes.list())
    # Docker 28 (API >= 1.42) prunes anonymous volumes only, unless the filter all=true.
    client.volumes.create(name('dangling'), labels={'dpy': 'prune'})
    kept = client.volumes.prune(filters={'label': 'dpy=prune'}).get('VolumesDeleted') or []
    pruned = client.volumes.prune(filters={'label': 'dpy=prune', 'all': 'true'})
    try:
        client.volumes.get(name('dangling'))
        dangling_left = True
    except NotFound:
        dangling_left = False
    return {
        'name': got['Name'], 'driver': got['Driver'], 'labels': got['Labels'], 'mountpoint_set': bool(got.get('Mountpoint')),
        'scope': got.get('Scope'), 'listed': listed, 'content': out.decode(),
        'pruned_default': kept, 'pruned': pruned.get('VolumesDeleted') or [], 'space_reclaimed_type': type(pruned.get('SpaceReclaimed')).__name__,
        'dangling_left': dangling_left, 'anonymous': anon, 'anonymous_left': anon_left,
    }


def events():
    since = int(time.time()) - 1
    c = client.containers.create('busybox', ['true'], name=name('ev'), labels={'dpy': 'ev'})
    c.start()
    c.wait(timeout=30)
    c.remove()
    time.sleep(1.1)
    until = int(time.time()) + 1
    got = list(client.events(since=since, until=until, decode=True, filters={'label': 'dpy=ev', 'type': 'container'}))
    actions = [e.get('Action') for e in got]
    names = sorted({e.get('Actor', {}).get('Attributes', {}).get('name') for e in got})
    net_events = [e for e in client.events(since=since, until=until, decode=True, filters={'type': 'network', 'network': 'bridge'})
                  if e.get('Actor', {}).get('Attributes', {}).get('container') == c.id]
    return {
        'actions': actions, 'names': names, 'types': sorted({e.get('Type') for e in got}),
        'time_fields': all(isinstance(e.get('time'), int) and isinstance(e.get('timeNano'), int) for e in got),
        'network_actions': [e.get('Action') for e in net_events],
        'network_attrs': sorted(net_events[0].get('Actor', {}).get('Attributes', {}).keys()) if net_events else [],
    }


def stats():
    c = state['srv']
    s = c.stats(stream=False)
    nets = s.get('networks') or {}
    first = next(iter(nets.values()), {})
    two = []
    for x in api.stats(c.id, decode=True, stream=True):
        two.append(x)
        if len(two) == 2:
            break
    return {
        'keys': sorted(s.keys()), 'interfaces': sorted(nets.keys()),
        'rx_bytes_type': type(first.get('rx_bytes')).__name__, 'tx_bytes_type': type(first.get('tx_bytes')).__name__,
        'rx_packets_type': type(first.get('rx_packets')).__name__,
        'memory_usage_type': type((s.get('memory_stats') or {}).get('usage')).__name__,
        'cpu_total_type': type(((s.get('cpu_stats') or {}).get('cpu_usage') or {}).get('total_usage')).__name__,
        'pids_current_type': type((s.get('pids_stats') or {}).get('current')).__name__,
        'streamed': len(two), 'name': s.get('name'), 'id': s.get('id'),
    }


def top():
    t = state['srv'].top()
    t_aux = state['srv'].top(ps_args='aux')
    return {'titles': t['Titles'], 'cmds': [p[-1] for p in t['Processes']], 'aux_titles': t_aux['Titles']}


def archive():
    c = state['srv']
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        data = b'hello from put_archive\n'
        info = tarfile.TarInfo('dpy/hello.txt')
        info.size = len(data)
        info.mode = 0o640
        tar.addfile(info, io.BytesIO(data))
    put = c.put_archive('/tmp', buf.getvalue())
    code, out = c.exec_run(['cat', '/tmp/dpy/hello.txt'])
    bits, st = c.get_archive('/tmp/dpy')
    raw = b''.join(bits)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = sorted(m.name for m in tar.getmembers())
        content = tar.extractfile('dpy/hello.txt').read().decode()
        mode = oct(tar.getmember('dpy/hello.txt').mode & 0o777)
    try:
        c.get_archive('/nonexistent')
        missing = 'no error'
    except NotFound as e:
        missing = e.status_code
    return {'put': put, 'cat': out.decode(), 'stat_name': st.get('name'), 'stat_is_dir': bool(st.get('mode', 0) & (1 << 31)),
            'members': members, 'content': content, 'mode': mode, 'missing': missing}


def prune():
    a = client.containers.run('busybox', ['true'], name=name('dead1'), detach=True, labels={'dpy': 'prune'})
    b = client.containers.run('busybox', ['true'], name=name('dead2'), detach=True)
    a.wait(timeout=30)
    b.wait(timeout=30)
    res = client.containers.prune(filters={'label': 'dpy=prune'})
    left = sorted(c.name for c in client.containers.list(all=True, filters={'name': PREFIX + '-dead'}))
    res2 = api.prune_containers()
    left2 = sorted(c.name for c in client.containers.list(all=True, filters={'name': PREFIX + '-dead'}))
    running = sorted(c.name for c in client.containers.list(filters={'name': PREFIX}))
    return {'deleted': len(res.get('ContainersDeleted') or []), 'left_after_label': left,
            'deleted_all': len(res2.get('ContainersDeleted') or []), 'left_after_all': left2,
            'reclaimed_type': type(res.get('SpaceReclaimed')).__name__, 'running_kept': running}


def swarm_teardown():
    # docker-py's integration tests end every test with leave_swarm(force=True) and ignore the
    # answer of a node that is not in a swarm: 503 (which leave_swarm itself accepts with force).
    raw = api._post(api._url('/swarm/leave'), params={'force': True})
    body = raw.json()
    try:
        api.leave_swarm(force=False)
        plain = 'no error'
    except APIError as e:
        plain = e.status_code
    return {'status': raw.status_code, 'message': body.get('message'), 'forced_result': api.leave_swarm(force=True), 'unforced_status': plain}


def daily():
    c = client.containers.run('busybox', ['sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 0.3; done; httpd -f -p 80'],
                              name=name('daily'), detach=True, ports={'80/tcp': None})
    state['daily'] = c
    followed = []
    for chunk in c.logs(stream=True, follow=True):
        followed.append(chunk.decode())
        if 'tick 3' in ''.join(followed):
            break
    c.reload()
    binding = (c.ports.get('80/tcp') or [{}])[0]
    c.pause()
    c.reload()
    paused = c.status
    c.unpause()
    c.reload()
    unpaused = c.status
    c.exec_run(['touch', '/made-by-dpy'])
    diff = [d for d in c.diff() if d['Path'] == '/made-by-dpy']
    c.rename(name('renamed'))
    c.reload()
    c.update(mem_limit='64m', memswap_limit='128m')
    c.reload()
    df = client.df()
    return {
        'followed': ''.join(followed), 'host_ip': binding.get('HostIp'), 'host_port': binding.get('HostPort'),
        'paused': paused, 'unpaused': unpaused, 'diff': diff, 'renamed': c.name,
        'memory': c.attrs['HostConfig']['Memory'], 'df_keys': sorted(df.keys()),
        'df_has_container': any(x.get('Id') == c.id for x in df.get('Containers') or []),
    }


def cleanup():
    removed = []
    for c in client.containers.list(all=True, filters={'name': PREFIX}):
        c.remove(force=True)
        removed.append(c.name)
    for n in client.networks.list(names=[name('net')]):
        n.remove()
        removed.append(n.name)
    for v in client.volumes.list():
        if v.name.startswith(PREFIX):
            v.remove(force=True)
            removed.append(v.name)
    left = [c.name for c in client.containers.list(all=True, filters={'name': PREFIX})] + \
        [n.name for n in client.networks.list(names=[name('net')])]
    return {'removed': sorted(removed), 'left': left}


for f in (ping, networks, containers, volumes, events, stats, top, archive, prune, daily, swarm_teardown, cleanup):
    step(f)
emit('done', True)
