// The registered top-level sections, in the order they are validated. A new
// section is a file exporting a Section plus one line here; the top level
// then accepts its key, and no other section changes.
import { nodeSection } from './node-section.js';
import { replicationSection } from './replication-section.js';
import type { AnySection } from './section.js';
import { servicesSection } from './services-section.js';
import { startupSection } from './startup-section.js';
import { vrrpSection } from './vrrp-section.js';

export const SECTIONS: readonly AnySection[] = [nodeSection, vrrpSection, replicationSection, servicesSection, startupSection];
