/**
 * Legacy links (`--link target[:alias]`) on the default bridge, as Docker keeps them: checked at
 * create (the target must exist), stored in HostConfig.Links in Docker's inspect form
 * `/target:/parent/alias`, and turned at every start into /etc/hosts lines and environment variables
 * (the target must run then). One-way: the target learns nothing. `docker rm --link /parent/alias`
 * drops one (`removeLink`).
 *
 * Use: `const links = createLinkHooks({ containers })`; put it in the controller's hooks, and let
 * `DELETE /containers/{name}?link=1` call `links.removeLink(name)`.
 *
 * Beware: on a user-defined network Docker does not register links at all: `--link` there is a DNS
 * alias of the endpoint (EndpointSettings.Links, answered by the embedded DNS), and HostConfig.Links
 * shows null. When a target starts again (or joins the bridge) with a new address, the /etc/hosts of
 * each running parent gets that link's lines rewritten in place (the file is bind-mounted: same inode,
 * so writeFile, never a rename); its environment keeps the old address, as in Docker. With a
 * `firewall` dependency, the ICC-off firewall elements of the links follow the parent and its targets
 * (link-rules.ts); without one, links change no firewall state.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { internal, invalidParameter, isRedesError, notFound, logger } from '../../util/index.js';
import { strList } from '../containers/container-config.js';
import type { ContainerHooks } from '../containers/container-hooks.js';
import type { ContainerRecord } from '../containers/container-types.js';
import type { ContainerLookup } from '../discovery/dns-hooks.js';
import { linkEnv, linkHostsLines, parseLink, replaceLinkHostsLines, type LinkTarget } from './link-env.js';
import { LinkRules, type LinkFirewall } from './link-rules.js';
import type { NetworkRecord } from '../networks/network-record.js';

const log = logger.child({ component: 'links' });

export interface LinkHooks extends ContainerHooks {
  /**
   * DELETE /containers/{name}?link=1: `name` is `/parent/alias`. Returns the parent with the link
   * dropped from HostConfig.Links (already saved). Docker's errors for a bare name or no parent.
   */
  removeLink(name: string): ContainerRecord;
}

/** A stored link `/target:/parent/alias` split up. */
export function splitStoredLink(l: string): { target: string; parent: string; alias: string } | undefined {
  const m = /^\/?([^:]+):\/([^/]+)\/(.+)$/.exec(l);
  return m ? { target: m[1] as string, parent: m[2] as string, alias: m[3] as string } : undefined;
}

const isLegacyMode = (mode: string): boolean => mode === 'bridge';

export interface LinkHooksDeps {
  containers: ContainerLookup;
  save: (rec: ContainerRecord) => void;
  /** The firewall manager: links through an ICC-off bridge are allowed on the target's exposed ports. */
  firewall?: LinkFirewall;
  /** To read the bridge's ICC option (link-rules.ts). */
  networks?: { get(id: string): NetworkRecord | undefined };
}

export function createLinkHooks(deps: LinkHooksDeps): LinkHooks {
  const rules = deps.firewall
    ? new LinkRules({ firewall: deps.firewall, containers: deps.containers, ...(deps.networks ? { networks: deps.networks } : {}) })
    : undefined;
  const lookup = (term: string): ContainerRecord | undefined => {
    try {
      return deps.containers.resolve(term);
    } catch (e) {
      if (isRedesError(e) && e.kind === 'not-found') return undefined;
      throw e;
    }
  };

  const targetOf = (child: ContainerRecord, linkName: string): LinkTarget => {
    if (child.state.status !== 'running') {
      throw internal('link.target_not_running', `Cannot link to a non running container: /${child.name} AS ${linkName}`);
    }
    const ep = child.endpoints.bridge;
    // Docker's text; dockerd answers it with 500, but the link names the wrong container: the request's fault.
    if (!ep?.ipv4Address) throw invalidParameter('link.target_not_on_bridge', `container /${child.name} not attached to default bridge network`);
    return {
      name: child.name, hostname: String(child.config.Hostname ?? child.id.slice(0, 12)), ipv4: ep.ipv4Address,
      ...(ep.ipv6Address ? { ipv6: ep.ipv6Address } : {}),
      env: strList(child.config.Env, 'Env'), exposedPorts: Object.keys((child.config.ExposedPorts as object | null) ?? {}),
    };
  };

  /**
   * Running containers with links (their ids): the only parents a target's start can concern. Every
   * start on the default bridge asks; listing all containers there parsed every record (about 10 ms
   * at 1000, growing with each start).
   */
  const liveParents = new Set<string>();
  const hasLinks = (rec: ContainerRecord): boolean => isLegacyMode(rec.networkMode) && strList(rec.hostConfig.Links, 'HostConfig.Links').length > 0;

  /** Rewrite the link lines for `target` in every running parent's hosts file (Docker's parent update). */
  const updateParentsHosts = async (target: ContainerRecord): Promise<void> => {
    if (target.state.status !== 'running' || !target.endpoints.bridge?.ipv4Address) return;
    const t = targetOf(target, '');
    for (const id of [...liveParents]) {
      const parent = id === target.id ? undefined : lookup(id);
      if (!parent || parent.state.status !== 'running' || !isLegacyMode(parent.networkMode)) continue;
      const mine = strList(parent.hostConfig.Links, 'HostConfig.Links').map(splitStoredLink).filter((s) => s?.target === target.name);
      if (mine.length === 0) continue;
      try {
        const old = await readFile(parent.hostsPath, 'utf8');
        let next = old;
        for (const s of mine) if (s) next = replaceLinkHostsLines(next, s.alias, t);
        if (next !== old) await writeFile(parent.hostsPath, next);
      } catch (e) {
        log.warn({ err: e, parent: parent.id, target: target.id }, 'parent hosts file not updated');
      }
    }
  };

  return {
    name: 'links',
    validateCreate(rec) {
      const given = strList(rec.hostConfig.Links, 'HostConfig.Links');
      if (given.length === 0) return;
      if (!isLegacyMode(rec.networkMode)) {
        // User-defined networks: the CLI also put them in the endpoint, where the DNS answers them.
        if (!rec.networkMode.startsWith('container:')) delete rec.hostConfig.Links;
        return;
      }
      const stored: string[] = [];
      for (const spec of given) {
        const p = parseLink(spec);
        if (!p) throw invalidParameter('link.bad_format', `invalid link format: ${spec}`);
        const child = lookup(p.name);
        if (!child) throw invalidParameter('link.no_target', `could not get container for ${p.name}: No such container: ${p.name}`);
        if (child.networkMode === 'host') {
          throw invalidParameter('link.host_network', "conflicting options: host type networking can't be used with links. This would result in undefined behavior");
        }
        stored.push(`/${child.name}:/${rec.name}/${p.alias}`);
      }
      rec.hostConfig.Links = stored;
    },
    async beforeStart(rec, etc) {
      if (!isLegacyMode(rec.networkMode)) return;
      if (hasLinks(rec)) liveParents.add(rec.id);
      for (const l of strList(rec.hostConfig.Links, 'HostConfig.Links')) {
        const s = splitStoredLink(l);
        const child = s && lookup(s.target);
        if (!s || !child) continue; // the target was removed: Docker drops the link with it
        const target = targetOf(child, `/${rec.name}/${s.alias}`);
        etc.hostsLines.push(...linkHostsLines(s.alias, target));
        etc.env.push(...linkEnv(`/${rec.name}/${s.alias}`, target));
      }
      if (rules && strList(rec.hostConfig.Links, 'HostConfig.Links').length) await rules.parentStarting(rec);
    },
    async afterStart(rec) {
      await updateParentsHosts(rec);
      await rules?.targetChanged(rec);
    },
    async beforeStop(rec) {
      liveParents.delete(rec.id);
      await rules?.parentGone(rec.id);
      await rules?.targetChanged(rec, true);
    },
    async removed(rec) {
      liveParents.delete(rec.id);
      await rules?.parentGone(rec.id);
    },
    async endpointsChanged(rec) {
      await rules?.refresh(rec);
      await updateParentsHosts(rec);
      await rules?.targetChanged(rec);
    },
    async restore(running) {
      for (const r of running) if (hasLinks(r)) liveParents.add(r.id);
      await rules?.restore(running);
    },
    async renamed(rec, oldName) {
      // Keep the stored names current in both directions, as Docker's name registry does.
      for (const c of deps.containers.list({ all: true })) {
        const links = strList(c.hostConfig.Links, 'HostConfig.Links');
        if (links.length === 0) continue;
        const next = links.map((l) => {
          const s = splitStoredLink(l);
          if (!s) return l;
          const target = s.target === oldName ? rec.name : s.target;
          const parent = s.parent === oldName ? rec.name : s.parent;
          return `/${target}:/${parent}/${s.alias}`;
        });
        if (next.join('\n') === links.join('\n')) continue;
        c.hostConfig.Links = next;
        if (c.id === rec.id) rec.hostConfig.Links = next;
        deps.save(c);
      }
    },
    removeLink(name) {
      const full = name.startsWith('/') ? name : `/${name}`;
      const cut = full.lastIndexOf('/');
      const parentName = full.slice(0, cut);
      if (parentName === '') throw internal('link.default_name', 'Conflict, cannot remove the default link name of the container');
      const parent = lookup(parentName);
      if (!parent) throw internal('link.no_parent', `Cannot get parent ${parentName} for link name ${full}`);
      const links = strList(parent.hostConfig.Links, 'HostConfig.Links');
      const rest = links.filter((l) => splitStoredLink(l)?.alias !== full.slice(cut + 1));
      if (rest.length === links.length) throw notFound('container.not_found', `No such container: ${name}`);
      parent.hostConfig.Links = rest.length ? rest : null;
      deps.save(parent);
      rules?.refresh(parent).catch((e: unknown) => log.warn({ err: e, parent: parent.id }, 'link rules not refreshed'));
      return parent;
    },
  };
}
