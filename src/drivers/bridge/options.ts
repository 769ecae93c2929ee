/**
 * Options of the bridge driver (`docker network create -o KEY=VALUE`), parsed once into a typed object.
 * Keys are Docker's; unknown keys are kept and ignored, as Docker does, so that existing compose files
 * keep working.
 */
import { invalidParameter } from '../../util/index.js';

export const OPT = {
  name: 'com.docker.network.bridge.name',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  icc: 'com.docker.network.bridge.enable_icc',
  hostBindingIPv4: 'com.docker.network.bridge.host_binding_ipv4',
  defaultBridge: 'com.docker.network.bridge.default_bridge',
  mtu: 'com.docker.network.driver.mtu',
} as const;

export interface BridgeOptions {
  bridgeName: string;
  masquerade: boolean;
  icc: boolean;
  hostBindingIPv4: string;
  mtu: number;
  isDefault: boolean;
}

/** Linux interface names: at most 15 bytes, no '/', ':' or white space. */
const IFNAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;

function parseBool(key: string, value: string): boolean {
  // Go's strconv.ParseBool, which Docker uses for these options.
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw invalidParameter('bridge.option', `failed to parse ${key} value: ${JSON.stringify(value)} (strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax)`);
}

function boolOption(raw: Readonly<Record<string, string>>, key: string, dflt: boolean): boolean {
  const v = raw[key];
  return v === undefined ? dflt : parseBool(key, v);
}

export function defaultBridgeName(id: string, isDefault: boolean): string {
  return isDefault ? 'docker0' : `br-${id.slice(0, 12)}`;
}

export function parseBridgeOptions(raw: Readonly<Record<string, string>>, id: string, isDefault: boolean): BridgeOptions {
  const name = raw[OPT.name] ?? defaultBridgeName(id, isDefault);
  if (!IFNAME.test(name)) {
    throw invalidParameter('bridge.name', `invalid bridge name ${JSON.stringify(name)}: a Linux interface name has 1 to 15 letters, digits, '_', '.' or '-'`);
  }
  const mtuText = raw[OPT.mtu];
  let mtu = 1500;
  if (mtuText !== undefined) {
    mtu = Number(mtuText);
    if (!/^\d+$/.test(mtuText) || mtu < 68 || mtu > 65535) {
      throw invalidParameter('bridge.mtu', `invalid MTU ${JSON.stringify(mtuText)}: must be a whole number from 68 to 65535`);
    }
  }
  const hostIp = raw[OPT.hostBindingIPv4] ?? '0.0.0.0';
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(hostIp) && !hostIp.includes(':')) {
    throw invalidParameter('bridge.host_binding', `failed to parse ${OPT.hostBindingIPv4} value: ${JSON.stringify(hostIp)} is not an IP address`);
  }
  return {
    bridgeName: name,
    masquerade: boolOption(raw, OPT.masquerade, true),
    icc: boolOption(raw, OPT.icc, true),
    hostBindingIPv4: hostIp,
    mtu,
    isDefault: isDefault || boolOption(raw, OPT.defaultBridge, false),
  };
}

/** The Options Docker shows for its default bridge network. */
export function defaultBridgeShownOptions(mtu = 1500): Record<string, string> {
  return {
    [OPT.defaultBridge]: 'true',
    [OPT.icc]: 'true',
    [OPT.masquerade]: 'true',
    [OPT.hostBindingIPv4]: '0.0.0.0',
    [OPT.name]: 'docker0',
    [OPT.mtu]: String(mtu),
  };
}
