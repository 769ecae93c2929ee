/**
 * The catalogue of every error redes reports: code → kind → (HTTP status, mapped once in
 * api/http-status.ts) → Docker's text. Codes are `area.snake_case` (the area is the layer or object
 * the error is about); kinds follow moby's errdefs. `docker` is the Go format string of moby v28.5.2
 * (file in the comment) for the codes whose message copies Docker's exactly; the others are ours.
 * Use: throw through util/errors.ts (`conflict('network.name_exists', ...)`): the helpers accept only
 * codes of their kind, so a code missing here or thrown with another kind does not compile.
 * Beware: error-codes.test.ts scans src/ and checks that every code is thrown, and that every throw
 * site of a code with a `docker` text writes that text (`${…}` for each %s/%d/%v, `"${…}"` or
 * `${JSON.stringify(…)}` for %q). Renaming a code changes what programs match on: keep them stable.
 */
import type { ErrorKind } from './errors.js';

export interface ErrorEntry {
  readonly kind: ErrorKind;
  /** Docker's message as a Go format string, when ours is the same text. */
  readonly docker?: string;
}

export const ERROR_CODES = {
  // api
  'api.bad_integer': { kind: 'invalid-parameter' },
  'api.bad_json': { kind: 'invalid-parameter' },
  'api.bad_length': { kind: 'invalid-parameter' },
  'api.bad_resize': { kind: 'invalid-parameter' },
  'api.body_too_large': { kind: 'too-large' },
  'api.chunked_upgrade': { kind: 'invalid-parameter' },
  'api.empty_body': { kind: 'invalid-parameter' },
  'api.field_type': { kind: 'invalid-parameter' },
  'api.no_upgrade': { kind: 'invalid-parameter' },
  'api.page_not_found': { kind: 'not-found', docker: 'page not found' }, // api/server/server.go
  'api.platform': { kind: 'invalid-parameter' },
  'api.version_too_new': {
    kind: 'invalid-parameter',
    docker: 'client version %s is too new. Maximum supported API version is %s', // api/server/middleware/version.go
  },
  'api.version_too_old': {
    kind: 'invalid-parameter',
    docker: 'client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version', // api/server/middleware/version.go
  },
  // archive
  'archive.no_path': { kind: 'invalid-parameter' },
  'archive.not_directory': { kind: 'invalid-parameter' },
  'archive.not_found': { kind: 'not-found' },
  'archive.overwrite': { kind: 'invalid-parameter' },
  'archive.rootfs_read_only': { kind: 'invalid-parameter' },
  'archive.volume_read_only': { kind: 'invalid-parameter' },
  // attach
  'attach.detach_keys': { kind: 'invalid-parameter', docker: 'Invalid detach keys (%s) provided' }, // daemon/attach.go
  // bridge
  'bridge.full': { kind: 'forbidden' },
  'bridge.host_binding': { kind: 'invalid-parameter' },
  'bridge.mtu': { kind: 'invalid-parameter' },
  'bridge.name': { kind: 'invalid-parameter' },
  'bridge.multiple_subnets': { kind: 'forbidden', docker: "bridge driver doesn't support multiple subnets" }, // libnetwork/drivers/bridge/bridge_linux.go
  'bridge.name_in_use': { kind: 'conflict' },
  'bridge.not_a_bridge': { kind: 'forbidden' },
  'bridge.option': { kind: 'invalid-parameter' },
  // build
  'build.add_archive': { kind: 'invalid-parameter' },
  'build.add_url': { kind: 'invalid-parameter' },
  'build.add_url_not_found': { kind: 'not-found' },
  'build.add_url_unreachable': { kind: 'unavailable' },
  'build.copy_url': { kind: 'invalid-parameter' },
  'build.context': { kind: 'invalid-parameter' },
  'build.copy_chown': { kind: 'invalid-parameter' },
  'build.copy_dest': { kind: 'invalid-parameter' },
  'build.copy_from': { kind: 'invalid-parameter' },
  'build.copy_source': { kind: 'invalid-parameter' },
  'build.empty': { kind: 'internal' },
  'build.from': { kind: 'invalid-parameter' },
  'build.option': { kind: 'not-implemented' },
  'build.param': { kind: 'invalid-parameter' },
  'build.platform': { kind: 'invalid-parameter' },
  'build.prune_filter': { kind: 'not-implemented' },
  'build.prune_option': { kind: 'not-implemented' },
  'build.registry_config': { kind: 'invalid-parameter' },
  'build.run': { kind: 'invalid-parameter' },
  'build.run_failed': { kind: 'invalid-parameter' },
  'build.target': { kind: 'invalid-parameter' },
  // container
  'container.already_connected': {
    kind: 'forbidden',
    docker: 'endpoint with name %s already exists in network %s', // libnetwork/network.go
  },
  'container.ambiguous': {
    kind: 'invalid-parameter',
    docker: 'multiple IDs found with provided prefix: %s', // container/view.go
  },
  'container.body_name': { kind: 'invalid-parameter' },
  'container.conflicting_options': { kind: 'invalid-parameter' },
  'container.endpoint_settings': { kind: 'invalid-parameter' },
  'container.env': { kind: 'invalid-parameter' },
  'container.group': { kind: 'invalid-parameter' },
  'container.group_add': { kind: 'invalid-parameter' },
  'container.host_multi': { kind: 'invalid-parameter' },
  'container.host_network': { kind: 'forbidden' },
  'container.host_gateway': { kind: 'internal', docker: 'unable to derive the IP value for host-gateway' }, // daemon/container_operations.go
  'container.hostname': { kind: 'invalid-parameter' },
  'container.join_not_running': { kind: 'conflict' },
  'container.link': { kind: 'invalid-parameter' },
  'container.mac': { kind: 'invalid-parameter' },
  'container.log_config': { kind: 'invalid-parameter' }, // daemon/logger: ValidateLogOpts and the drivers' validators
  'container.log_init': { kind: 'invalid-parameter' }, // values read when the log starts (jsonfilelog.New, local newConfig)
  'container.logs_unsupported': {
    kind: 'not-implemented',
    docker: 'configured logging driver does not support reading', // daemon/logger: ErrReadLogsNotSupported
  },
  'container.name': {
    kind: 'invalid-parameter',
    docker: 'Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed', // daemon/names.go
  },
  'container.name_in_use': { kind: 'conflict' },
  'container.no_command': { kind: 'invalid-parameter', docker: 'no command specified' }, // daemon/create.go
  'container.no_image': { kind: 'invalid-parameter' },
  'container.none_connect': {
    kind: 'forbidden',
    docker: 'container cannot be connected to multiple networks with one of the networks in private (none) mode', // runconfig/errors.go
  },
  'container.none_multi': {
    kind: 'invalid-parameter',
    docker: 'container cannot be connected to multiple networks with one of the networks in private (none) mode', // runconfig/errors.go
  },
  'container.not_connected': {
    kind: 'forbidden',
    docker: 'container %s is not connected to network %s', // daemon/container_operations.go
  },
  'container.not_found': { kind: 'not-found', docker: 'No such container: %s' }, // container/view.go
  'container.not_paused': { kind: 'conflict', docker: 'Container %s is not paused' }, // daemon/unpause.go
  'container.not_running': { kind: 'conflict' },
  'container.oom_score_adj': {
    kind: 'invalid-parameter',
    docker: 'Invalid value %d, range for oom score adj is [-1000, 1000]', // daemon/daemon_unix.go
  },
  'container.paused': { kind: 'conflict', docker: 'Container %s is already paused' }, // daemon/errors.go
  'container.removal_in_progress': {
    kind: 'conflict',
    docker: 'removal of container %s is already in progress', // daemon/delete.go
  },
  'container.remove_paused': {
    kind: 'conflict',
    docker: 'cannot remove container %q: container is paused and must be unpaused first', // daemon/delete.go
  },
  'container.removing': { kind: 'conflict' },
  'container.running': {
    kind: 'conflict',
    docker: 'cannot remove container %q: container is %s: stop the container before removing or force remove', // daemon/delete.go
  },
  'container.security_opt': { kind: 'invalid-parameter' },
  'seccomp.profile': { kind: 'invalid-parameter' },
  'container.shared_netns': {
    kind: 'invalid-parameter',
    docker: 'container sharing network namespace with another container or host cannot be connected to any other network', // runconfig/errors.go
  },
  'container.signal': { kind: 'invalid-parameter' },
  'container.start_body': {
    kind: 'invalid-parameter',
    docker: 'starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24', // api/server/router/container/container_routes.go
  },
  'container.unsupported_field': { kind: 'invalid-parameter' },
  'container.update_field': { kind: 'invalid-parameter' },
  'container.user': { kind: 'invalid-parameter' },
  'container.volumes': { kind: 'invalid-parameter' },
  'container.wait_condition': { kind: 'invalid-parameter' },
  'container.working_dir': {
    kind: 'invalid-parameter',
    docker: "the working directory '%s' is invalid, it needs to be an absolute path", // daemon/container.go
  },
  // debian
  'debian.cache': { kind: 'invalid-parameter' },
  'debian.expose_port': { kind: 'invalid-parameter' },
  'debian.mirror': { kind: 'invalid-parameter' },
  'debian.package': { kind: 'invalid-parameter' },
  'debian.suite': { kind: 'invalid-parameter' },
  'doctor.busy': { kind: 'conflict' },
  // device
  'device.access': { kind: 'invalid-parameter' },
  'device.missing': { kind: 'invalid-parameter' },
  'device.not_device': { kind: 'invalid-parameter' },
  'device.rule': { kind: 'invalid-parameter' },
  // dockerfile
  'dockerfile.arg': { kind: 'invalid-parameter' },
  'dockerfile.empty': { kind: 'invalid-parameter' },
  'dockerfile.missing': { kind: 'invalid-parameter' },
  'dockerfile.no_stage': { kind: 'invalid-parameter' },
  'dockerfile.parse': { kind: 'invalid-parameter' },
  // events
  'events.time': { kind: 'invalid-parameter' },
  'events.window': { kind: 'invalid-parameter', docker: '`since` time (%s) cannot be after `until` time (%s)' }, // api/server/router/system/system_routes.go
  // exec
  'exec.already_started': { kind: 'conflict', docker: 'exec command %s has already run' }, // daemon/exec.go
  'exec.no_cmd': { kind: 'invalid-parameter', docker: 'No exec command specified' }, // api/server/router/container/exec.go
  'exec.no_command': { kind: 'invalid-parameter', docker: 'No exec command specified' }, // api/server/router/container/exec.go
  'exec.not_found': { kind: 'not-found', docker: 'No such exec instance: %s' }, // daemon/errors.go
  // filters
  'filters.bad_json': { kind: 'invalid-parameter' },
  'filters.dangling': { kind: 'invalid-parameter' },
  'filters.reference': { kind: 'invalid-parameter' },
  'filters.status': { kind: 'invalid-parameter' },
  'filters.type': { kind: 'invalid-parameter' },
  'filters.unknown': { kind: 'invalid-parameter' },
  'filters.unsupported': { kind: 'not-implemented' },
  'filters.until': { kind: 'invalid-parameter' },
  // image
  'image.archive': { kind: 'invalid-parameter' },
  'image.busybox_missing': { kind: 'unavailable' },
  'image.change': { kind: 'invalid-parameter' },
  'image.compression': { kind: 'invalid-parameter' },
  'image.config': { kind: 'invalid-parameter' },
  'image.history': { kind: 'internal' },
  'image.import_source': { kind: 'invalid-parameter' },
  'image.in_use': { kind: 'conflict' },
  'image.layer_digest': { kind: 'invalid-parameter' },
  'image.layer_tar_missing': { kind: 'internal' },
  'image.tar_split': { kind: 'internal' },
  'image.load_archive': { kind: 'invalid-parameter' },
  'image.not_found': { kind: 'not-found' },
  'image.reference': { kind: 'invalid-parameter' },
  'image.reserved_name': { kind: 'forbidden' },
  'image.save_platform': { kind: 'invalid-parameter', docker: 'no suitable export target found for platform %s' }, // daemon/containerd/image_exporter.go
  'image.store': { kind: 'internal' },
  // ipam
  'ipam.address_in_use': { kind: 'forbidden', docker: 'Address already in use' }, // libnetwork/ipamapi/contract.go
  'ipam.address_out_of_range': {
    kind: 'invalid-parameter',
    docker: "invalid address %s: It does not belong to any of this network's subnets", // libnetwork/endpoint.go
  },
  'ipam.automatic_gateway': { kind: 'internal' },
  'ipam.aux_in_use': {
    kind: 'invalid-parameter',
    docker: 'failed to allocate secondary ip address (%s:%s): %v', // libnetwork/network.go
  },
  'ipam.bad_address': { kind: 'invalid-parameter' },
  'ipam.bad_pool': { kind: 'invalid-parameter' },
  'ipam.bad_pool_flag': { kind: 'invalid-parameter' },
  'ipam.bad_state': { kind: 'internal' },
  'ipam.driver_not_found': { kind: 'not-found' },
  'ipam.gateway_in_use': { kind: 'invalid-parameter', docker: 'failed to allocate gateway (%v): %v' }, // libnetwork/network.go
  'ipam.gateway_unavailable': { kind: 'invalid-parameter' },
  'ipam.invalid_config': { kind: 'invalid-parameter' },
  'ipam.multiple_subnets': { kind: 'invalid-parameter' },
  'ipam.network_full': { kind: 'internal' },
  'ipam.parse': { kind: 'invalid-parameter' },
  'ipam.pool_full': { kind: 'unavailable', docker: 'no available addresses on this pool' }, // libnetwork/ipamapi/contract.go
  'ipam.pool_overlap': { kind: 'forbidden' },
  'ipam.pools_exhausted': { kind: 'invalid-parameter' },
  'ipam.subnet_host_network': { kind: 'invalid-parameter' },
  'ipam.subnet_link_local': { kind: 'invalid-parameter' },
  'ipam.subnet_multicast': { kind: 'invalid-parameter' },
  'ipam.subnet_unusable': { kind: 'invalid-parameter' },
  'ipam.subnet_v4_mapped': { kind: 'invalid-parameter' },
  // lab
  'lab.hosts': { kind: 'invalid-parameter' },
  'lab.name': { kind: 'invalid-parameter' },
  // link
  'link.bad_format': { kind: 'invalid-parameter' },
  'link.default_name': { kind: 'internal' },
  'link.host_network': { kind: 'invalid-parameter' },
  'link.no_parent': { kind: 'internal' },
  'link.no_target': { kind: 'invalid-parameter' },
  'link.target_not_on_bridge': { kind: 'invalid-parameter' },
  'link.target_not_running': { kind: 'internal' },
  // logs
  'logs.bad_time': { kind: 'invalid-parameter' },
  'logs.no_stream': { kind: 'invalid-parameter' },
  // macvlan
  'macvlan.delete': { kind: 'internal' },
  'macvlan.mode': { kind: 'invalid-parameter' },
  'macvlan.no_8021q': { kind: 'not-implemented' },
  'macvlan.parent_lo': { kind: 'invalid-parameter' },
  'macvlan.parent_missing': { kind: 'invalid-parameter' },
  'macvlan.parent_name': { kind: 'invalid-parameter' },
  'macvlan.parent_not_found': { kind: 'invalid-parameter' },
  'macvlan.parent_used_passthru': { kind: 'forbidden' },
  'macvlan.passthru_parent_used': { kind: 'forbidden' },
  'macvlan.port': { kind: 'internal' },
  'macvlan.private_parent_taken': { kind: 'forbidden' },
  'macvlan.shim': { kind: 'internal' },
  'macvlan.shim_address': { kind: 'invalid-parameter' },
  'macvlan.shim_address_taken': { kind: 'forbidden' },
  'macvlan.shim_gateway': { kind: 'invalid-parameter' },
  'macvlan.shim_in_use': { kind: 'forbidden' },
  'macvlan.shim_mode': { kind: 'invalid-parameter' },
  'macvlan.shim_name_taken': { kind: 'forbidden' },
  'macvlan.shim_no_ipv4': { kind: 'invalid-parameter' },
  'macvlan.shim_no_parent': { kind: 'invalid-parameter' },
  'macvlan.shim_outside': { kind: 'invalid-parameter' },
  'macvlan.shim_reserved': { kind: 'invalid-parameter' },
  'macvlan.shim_taken': { kind: 'forbidden' },
  'macvlan.vlan_base_missing': { kind: 'invalid-parameter' },
  'macvlan.vlan_format': { kind: 'invalid-parameter' },
  'macvlan.vlan_id': { kind: 'invalid-parameter' },
  'macvlan.vlan_link': { kind: 'internal' },
  'macvlan.vlan_range': { kind: 'invalid-parameter' },
  // mount
  'mount.bind_source': { kind: 'invalid-parameter' },
  'mount.destination': { kind: 'invalid-parameter' },
  'mount.duplicate': { kind: 'invalid-parameter', docker: 'Duplicate mount point: %s' }, // daemon/errors.go
  'mount.invalid': { kind: 'invalid-parameter' },
  'mount.mode': { kind: 'invalid-parameter' },
  'mount.spec': { kind: 'invalid-parameter' },
  'mount.subpath': { kind: 'invalid-parameter' },
  'mount.type': { kind: 'invalid-parameter' },
  'mount.volumes_from': { kind: 'invalid-parameter' },
  // network
  'network.ambiguous': { kind: 'invalid-parameter' },
  'network.config_only': { kind: 'invalid-parameter' },
  'network.create_failed': { kind: 'internal' },
  'network.driver_missing': { kind: 'forbidden', docker: 'plugin %q not found' }, // plugin/errors.go
  'network.driver_not_found': { kind: 'not-found', docker: 'plugin %q not found' }, // plugin/errors.go
  'network.gone': { kind: 'forbidden' },
  'network.in_use': { kind: 'forbidden' },
  'network.ingress': { kind: 'forbidden' },
  'network.name_empty': { kind: 'invalid-parameter', docker: 'invalid name: name is empty' }, // libnetwork/controller.go
  'network.name_exists': { kind: 'conflict', docker: 'network with name %s already exists' }, // libnetwork/error.go
  'network.no_endpoints': { kind: 'forbidden' },
  'network.not_found': { kind: 'not-found', docker: 'network %s not found' }, // libnetwork/error.go
  'network.predefined': { kind: 'forbidden' },
  'network.scope': { kind: 'invalid-parameter' },
  'network.singleton': {
    kind: 'forbidden',
    docker: 'only one instance of %q network is allowed', // libnetwork/drivers/host/host.go
  },
  'network.subnet_contended': { kind: 'conflict' },
  // oci
  'oci.capability': { kind: 'invalid-parameter' },
  'oci.cgroups_path': { kind: 'invalid-parameter' },
  'oci.mount': { kind: 'invalid-parameter' },
  'oci.no_command': { kind: 'invalid-parameter' },
  'oci.ulimit': { kind: 'invalid-parameter' },
  // overlay
  'overlay.allocation_contended': { kind: 'unavailable' },
  'overlay.encrypted': { kind: 'invalid-parameter' },
  'overlay.mtu': { kind: 'invalid-parameter' },
  'overlay.no_wireguard': { kind: 'not-implemented' },
  'overlay.not_attachable': { kind: 'forbidden' },
  'overlay.not_in_swarm': {
    kind: 'unavailable',
    docker: 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.', // daemon/cluster/cluster.go
  },
  'overlay.option_unknown': { kind: 'invalid-parameter' },
  'overlay.vni': { kind: 'invalid-parameter' },
  'overlay.vni_taken': { kind: 'conflict' },
  'overlay.worker_create': { kind: 'forbidden' },
  // port
  'port.allocated': { kind: 'internal' },
  'port.bind': { kind: 'internal' },
  'port.exhausted': { kind: 'internal' },
  'port.invalid': { kind: 'invalid-parameter' },
  // registry
  'registry.auth_header': { kind: 'invalid-parameter' },
  'registry.blob_digest': { kind: 'invalid-parameter' },
  'registry.blob_incomplete': { kind: 'unavailable' },
  'registry.blob_too_large': { kind: 'invalid-parameter' },
  'registry.error': { kind: 'unavailable' },
  'registry.layer_archive_missing': { kind: 'invalid-parameter' },
  'registry.layer_media_type': { kind: 'invalid-parameter' },
  'registry.manifest': { kind: 'invalid-parameter' },
  'registry.manifest_digest': { kind: 'invalid-parameter' },
  'registry.manifest_unknown': { kind: 'not-found' },
  'registry.no_matching_manifest': { kind: 'not-found' },
  'registry.none': { kind: 'unavailable' },
  'registry.pull_denied': { kind: 'not-found' },
  'registry.push_denied': { kind: 'unavailable' },
  'registry.unauthorized': { kind: 'forbidden' },
  'registry.unreachable': { kind: 'unavailable' },
  // resources
  'resources.cpu_period': {
    kind: 'invalid-parameter',
    docker: 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)', // daemon/daemon_unix.go
  },
  'resources.cpu_quota': {
    kind: 'invalid-parameter',
    docker: 'CPU cfs quota can not be less than 1ms (i.e. 1000)', // daemon/daemon_unix.go
  },
  'resources.cpus': { kind: 'invalid-parameter' },
  'resources.cpuset': { kind: 'invalid-parameter' },
  'resources.memory': { kind: 'invalid-parameter', docker: 'Minimum memory limit allowed is 6MB' }, // daemon/daemon_unix.go
  'resources.reservation': { kind: 'invalid-parameter' },
  'resources.swap': { kind: 'invalid-parameter' },
  'resources.swappiness': {
    kind: 'invalid-parameter',
    docker: 'Invalid value: %v, valid memory swappiness range is 0-100', // daemon/daemon_unix.go
  },
  // restart
  'restart.autoremove': {
    kind: 'invalid-parameter',
    docker: "can't create 'AutoRemove' container with restart policy", // daemon/container.go
  },
  'restart.max': { kind: 'invalid-parameter' },
  'restart.policy': {
    kind: 'invalid-parameter',
    docker: "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", // api/types/container/hostconfig.go
  },
  // rootfs
  'rootfs.overlay_options': { kind: 'internal' },
  'rootfs.path': { kind: 'invalid-parameter' },
  // runtime
  'runtime.bad_command': { kind: 'invalid-parameter' },
  'runtime.container_not_found': { kind: 'not-found' },
  'runtime.container_not_running': { kind: 'conflict' },
  'runtime.container_running': { kind: 'conflict' },
  'runtime.create_failed': { kind: 'internal' },
  'runtime.exec_failed': { kind: 'internal' },
  'runtime.exec_lost': { kind: 'internal' },
  'runtime.shim_missing': { kind: 'unavailable' },
  'runtime.start_failed': { kind: 'internal' },
  // sandbox
  'sandbox.daemon': { kind: 'unavailable' },
  'sandbox.name': { kind: 'invalid-parameter' },
  'sandbox.not_found': { kind: 'not-found' },
  'sandbox.server': { kind: 'unavailable' },
  // swarm
  'swarm.address': { kind: 'invalid-parameter' },
  'swarm.already_in_swarm': {
    kind: 'unavailable',
    docker: 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.', // daemon/cluster/errors.go
  },
  'swarm.autolock': { kind: 'not-implemented' },
  'swarm.availability': { kind: 'not-implemented' },
  'swarm.ca_mismatch': { kind: 'invalid-parameter' },
  'swarm.cluster_store': {
    kind: 'internal',
    docker: '--cluster-store and --cluster-advertise daemon configurations are incompatible with swarm mode', // daemon/config (IsSwarmCompatible)
  },
  'swarm.force_new_cluster': { kind: 'not-implemented' },
  'swarm.invalid_token': { kind: 'invalid-parameter' },
  'swarm.join_address': { kind: 'invalid-parameter' },
  'swarm.join_body': { kind: 'invalid-parameter' },
  'swarm.join_ca': { kind: 'unavailable' },
  'swarm.join_cert': { kind: 'invalid-parameter' },
  'swarm.join_failed': { kind: 'unavailable' },
  'swarm.join_hostname': { kind: 'invalid-parameter' },
  'swarm.join_refused': { kind: 'invalid-parameter' },
  'swarm.join_remote': { kind: 'invalid-parameter' },
  'swarm.join_unreachable': { kind: 'unavailable' },
  'swarm.leave_manager': { kind: 'unavailable' },
  'swarm.node_ambiguous': { kind: 'invalid-parameter' },
  'swarm.node_manager': { kind: 'invalid-parameter' },
  'swarm.node_not_down': { kind: 'invalid-parameter' },
  'swarm.node_not_found': { kind: 'not-found' },
  'swarm.node_update': { kind: 'not-implemented' },
  'swarm.not_in_swarm': { kind: 'unavailable', docker: 'This node is not part of a swarm' }, // daemon/cluster/errors.go
  'swarm.not_locked': { kind: 'invalid-parameter' },
  'swarm.not_manager': {
    kind: 'unavailable',
    docker: 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.', // daemon/cluster/cluster.go
  },
  'swarm.objects_unsupported': { kind: 'not-implemented' },
  'swarm.update_sequence': { kind: 'conflict' },
  'swarm.update_version': { kind: 'invalid-parameter' },
  'swarm.worker': {
    kind: 'unavailable',
    docker: "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.", // daemon/cluster/cluster.go
  },
  'swarm.wrong_secret': { kind: 'invalid-parameter' },
  // system
  'system.df_type': { kind: 'invalid-parameter' },
  'system.no_space': { kind: 'internal' },
  // top
  'top.no_pid': { kind: 'internal' },
  'top.ps_args': { kind: 'invalid-parameter' },
  'top.ps_failed': { kind: 'internal' },
  // volume
  'volume.busy': { kind: 'conflict' },
  'volume.driver': { kind: 'not-found' },
  'volume.filter': { kind: 'invalid-parameter' },
  'volume.in_use': { kind: 'conflict' },
  'volume.name': { kind: 'invalid-parameter' },
  'volume.not_found': { kind: 'not-found' },
  'volume.option': { kind: 'invalid-parameter' },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes of one kind: what `conflict(...)` and its siblings accept. */
export type CodeOf<K extends ErrorKind> = { [C in ErrorCode]: (typeof ERROR_CODES)[C]['kind'] extends K ? C : never }[ErrorCode];

export function isErrorCode(s: string): s is ErrorCode {
  return Object.hasOwn(ERROR_CODES, s);
}
