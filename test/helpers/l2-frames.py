#!/usr/bin/env python3
"""Forged Ethernet frames for the layer-2 anti-spoofing test (test/e2e/l2-guard.test.ts).

Use (inside a container's network namespace, through nsenter --net):
  l2-frames.py send IFACE JSON   JSON: {"me": {"mac", "ip4", "ll6"}, "victim": {"mac", "ip4", "ip6"}, "count": N}
                                 sends N frames of each kind below, broadcast or all-nodes multicast
  l2-frames.py recv IFACE SECS   counts the frames of each kind that arrive until its stdin closes (at
                                 most SECS seconds); prints JSON

Each frame carries a tag, `REDES-L2-<kind>.` (in its payload: br_netfilter trims bytes after an IP
packet), so the receiver counts only ours.
Kinds: `ok` and `ok6` are the sender's own traffic (they must arrive); every other kind forges
something (a source MAC, an ARP sender, an IPv4 or IPv6 source, a neighbour advertisement for the
victim's address, a router advertisement, a VLAN tag around a forged packet) and must be dropped.

Beware: needs CAP_NET_RAW in that namespace (root through nsenter has it).
"""
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
BCAST = 'ff:ff:ff:ff:ff:ff'
ALL_NODES_MAC = '33:33:00:00:00:01'
ALL_NODES = 'ff02::1'


def mac(s):
    return bytes.fromhex(s.replace(':', ''))


def ip4(s):
    return socket.inet_aton(s)


def ip6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tag(kind):
    return b'REDES-L2-' + kind.encode() + b'.'


def eth(dst, src, etype, payload):
    return mac(dst) + mac(src) + struct.pack('!H', etype) + payload


def arp(sha, spa, tpa, kind):
    # A gratuitous ARP reply: "spa is at sha", to everybody; the tag rides in the frame's padding.
    return struct.pack('!HHBBH', 1, 0x0800, 6, 4, 2) + mac(sha) + ip4(spa) + mac(BCAST) + ip4(tpa) + tag(kind)


def udp4(src, dst, kind):
    # The tag is the UDP payload: br_netfilter trims whatever follows an IP packet.
    data = tag(kind)
    udp = struct.pack('!HHHH', 9999, 9999, 8 + len(data), 0) + data
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    return hdr + udp


def pkt6(src, dst, nh, body):
    return struct.pack('!IHBB', 0x60000000, len(body), nh, 255) + ip6(src) + ip6(dst) + body


def icmp6(src, dst, body):
    pseudo = ip6(src) + ip6(dst) + struct.pack('!I3xB', len(body), 58)
    c = csum(pseudo + body)
    return pkt6(src, dst, 58, body[:2] + struct.pack('!H', c) + body[4:])


def frames(me, victim):
    na = struct.pack('!BBHI', 136, 0, 0, 0x20000000) + ip6(victim['ip6']) + struct.pack('!BB', 2, 1) + mac(me['mac']) + tag('na')
    ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 1800, 0, 0) + struct.pack('!BB', 1, 1) + mac(me['mac']) + tag('ra')
    any4 = '255.255.255.255'
    return {
        'ok': eth(BCAST, me['mac'], 0x0800, udp4(me['ip4'], any4, 'ok')),
        'ok6': eth(ALL_NODES_MAC, me['mac'], 0x86dd, pkt6(me['ll6'], ALL_NODES, 59, tag('ok6'))),
        'mac': eth(BCAST, victim['mac'], 0x0800, udp4(me['ip4'], any4, 'mac')),
        'ip4': eth(BCAST, me['mac'], 0x0800, udp4(victim['ip4'], any4, 'ip4')),
        'arp-ip': eth(BCAST, me['mac'], 0x0806, arp(me['mac'], victim['ip4'], victim['ip4'], 'arp-ip')),
        'arp-mac': eth(BCAST, me['mac'], 0x0806, arp(victim['mac'], me['ip4'], me['ip4'], 'arp-mac')),
        'ip6': eth(ALL_NODES_MAC, me['mac'], 0x86dd, pkt6(victim['ip6'], ALL_NODES, 59, tag('ip6'))),
        'na': eth(ALL_NODES_MAC, me['mac'], 0x86dd, icmp6(me['ll6'], ALL_NODES, na)),
        'ra': eth(ALL_NODES_MAC, me['mac'], 0x86dd, icmp6(me['ll6'], ALL_NODES, ra)),
        'vlan': eth(BCAST, me['mac'], 0x8100, struct.pack('!HH', 1, 0x0800) + udp4(victim['ip4'], any4, 'vlan')),
    }


def send(iface, spec):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    out = {}
    for kind, f in frames(spec['me'], spec['victim']).items():
        for _ in range(spec['count']):
            s.send(f)
        out[kind] = spec['count']
    print(json.dumps(out))


def recv(iface, secs):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, ETH_P_ALL))  # Python turns the protocol to network order itself
    print('ready', flush=True)
    seen = {}

    def count():
        data, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            return
        i = data.find(b'REDES-L2-')
        if i < 0:
            return
        kind = data[i + 9:data.index(b'.', i + 9)].decode()
        seen[kind] = seen.get(kind, 0) + 1

    end = time.time() + secs
    while True:
        left = end - time.time()
        if left <= 0:
            break
        r, _, _ = select.select([s, sys.stdin], [], [], left)
        if sys.stdin in r and not sys.stdin.buffer.read1(4096):
            break  # the caller is done sending
        if s in r:
            count()
    # Frames that arrived before the end but were not read yet (a loaded machine) count too.
    while select.select([s], [], [], 0)[0]:
        count()
    print(json.dumps(seen))


if __name__ == '__main__':
    if sys.argv[1] == 'send':
        send(sys.argv[2], json.loads(sys.argv[3]))
    else:
        recv(sys.argv[2], float(sys.argv[3]))
