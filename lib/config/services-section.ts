// `services`: the managed service set that runs only on the MASTER (issue 5).
// The list order is the start order; they stop in reverse. Absent means no
// services. Each entry is read in services-service.ts; here, the names across
// services, and (once every section is read) that `requires` names volumes of
// replication.volumes.
import { listChoices, type Issues } from './issues.js';
import { renderPath, type KeyPath } from './path.js';
import { writtenVolumeNames } from './replication-section.js';
import type { Section } from './section.js';
import { readService, type ServiceDraft } from './services-service.js';
import { didYouMean } from './suggest.js';
import type { ServiceConfig } from './types.js';

// The drafts behind each validated list, for crossCheck.
const DRAFTS = new WeakMap<ServiceConfig[], readonly ServiceDraft[]>();

export const servicesSection: Section<'services'> = {
  key: 'services',
  validate(raw, at, { issues }) {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
      issues.error(at, raw, 'must be a list of services in start order (- name: app ...), or [] for none');
      return undefined;
    }
    const drafts = raw.flatMap((v: unknown, i) => readService(v, [...at, i], issues) ?? []);
    checkNames(drafts, issues);
    const out = drafts.flatMap((d) => (d.config === undefined ? [] : [d.config]));
    DRAFTS.set(out, drafts);
    return out;
  },
  crossCheck(config, { issues }) {
    const count = config.vrrp?.instances.length;
    const drafts = config.services === undefined ? undefined : DRAFTS.get(config.services);
    // Every service written, also one with errors of its own, so this is reported beside them.
    const names = (drafts?.flatMap((d) => (d.name === undefined ? [] : [d.name])) ?? config.services?.map((x) => x.name) ?? []).join(', ');
    const follows = 'services run on the MASTER of the one VRRP instance they follow (vrrp.instances)';
    if (names !== '' && count !== undefined && count > 1) issues.error(['services'], names, `${follows}: there are ${count}; several resource groups (active/active) are not supported yet`);
    if (names !== '' && count === 0) issues.warn(['services'], names, `${follows}: there is none, so nothing will start them`);
    if (drafts === undefined || config.replication === undefined) return;
    const volumes = writtenVolumeNames(config.replication);
    if (volumes !== undefined) checkRequires(drafts, volumes, issues);
  },
};

function checkNames(drafts: readonly ServiceDraft[], issues: Issues): void {
  const names = new Map<string, KeyPath>();
  for (const d of drafts) {
    if (d.name === undefined) continue;
    const first = names.get(d.name);
    if (first === undefined) names.set(d.name, d.at);
    else issues.error([...d.at, 'name'], d.name, `service names must be unique: ${renderPath(first)} is also named ${d.name}`);
  }
}

// A required volume must be one this node replicates: the conductor promotes it before the service starts.
function checkRequires(drafts: readonly ServiceDraft[], volumes: readonly string[], issues: Issues): void {
  const have = volumes.length === 0 ? 'replication.volumes defines none' : `volumes: ${listChoices(volumes)}`;
  for (const d of drafts) {
    d.requires?.forEach((name, i) => {
      if (volumes.includes(name)) return;
      const guess = didYouMean(name, volumes);
      const hint = guess === undefined ? '' : `did you mean "${guess}"? `;
      issues.error([...d.at, 'requires', i], name, `no such volume: ${hint}requires names volumes of replication.volumes (${have})`);
    });
  }
}
