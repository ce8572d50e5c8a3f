import type { Row, TableSpec, Warehouse } from '../warehouse/types';
import { tenantDataset } from '../warehouse/tenant-dataset';
import { validationError } from '../shared/errors';
import { DATE_PARAMETER_RANGE } from './parameters';

/**
 * Realistic sample GCP billing export rows, so billing_cost runs on the embedded default.
 * Deterministic: the same seed, tenant and dates give the same rows. The layout is the flattened one
 * documented in configs/gcp/cost/billing_cost.yml (credits and labels as JSON arrays).
 */
export const BILLING_EXPORT_TABLE = 'gcp_billing_export_v1';

export const billingExportSpec: TableSpec = {
  description: 'GCP billing export (flattened layout)',
  partitionBy: { column: 'usage_start_time' },
  clusterBy: ['project_id', 'service_id'],
  columns: [
    { name: 'billing_account_id', type: 'STRING' },
    { name: 'service_id', type: 'STRING' },
    { name: 'service_description', type: 'STRING' },
    { name: 'sku_id', type: 'STRING' },
    { name: 'sku_description', type: 'STRING' },
    { name: 'project_id', type: 'STRING' },
    { name: 'project_name', type: 'STRING' },
    { name: 'usage_start_time', type: 'TIMESTAMP' },
    { name: 'usage_end_time', type: 'TIMESTAMP' },
    { name: 'location_region', type: 'STRING' },
    { name: 'cost', type: 'FLOAT64' },
    { name: 'currency', type: 'STRING' },
    { name: 'currency_conversion_rate', type: 'FLOAT64' },
    { name: 'usage_amount', type: 'FLOAT64' },
    { name: 'usage_unit', type: 'STRING' },
    { name: 'credits', type: 'JSON' },
    { name: 'labels', type: 'JSON' },
    { name: 'cost_type', type: 'STRING' },
    { name: 'invoice_month', type: 'STRING' },
    { name: 'export_time', type: 'TIMESTAMP' },
  ],
};

interface Sku {
  id: string;
  description: string;
  unit: string;
  price: number;
  /** Typical usage per line item. */
  usage: number;
}
interface Service {
  id: string;
  description: string;
  weight: number;
  regional: boolean;
  skus: Sku[];
}

const SERVICES: Service[] = [
  { id: '6F81-5844-456A', description: 'Compute Engine', weight: 30, regional: true, skus: [
    { id: 'CP-COMPUTEENGINE-VMIMAGE-N2-STANDARD-4', description: 'N2 Instance Core running in Americas', unit: 'hour', price: 0.031611, usage: 40 },
    { id: '2E27-4F75-95CD', description: 'N2 Instance Ram running in Americas', unit: 'gibibyte hour', price: 0.004237, usage: 160 },
    { id: 'D973-5D65-BAB2', description: 'Storage PD Capacity', unit: 'gibibyte month', price: 0.04, usage: 120 },
    { id: '9A1D-3A2E-4B7C', description: 'E2 Instance Core running in EMEA', unit: 'hour', price: 0.024, usage: 30 },
  ] },
  { id: '95FF-2EF5-5EA1', description: 'Cloud Storage', weight: 12, regional: true, skus: [
    { id: 'E5F0-6A5D-7BAD', description: 'Standard Storage US Multi-region', unit: 'gibibyte month', price: 0.026, usage: 900 },
    { id: '22EB-AAE8-FBCD', description: 'Download Worldwide Destinations (excluding Asia & Australia)', unit: 'gibibyte', price: 0.12, usage: 25 },
    { id: 'A1E8-0B1C-6F2A', description: 'Class A Operations', unit: 'count', price: 0.000005, usage: 200000 },
  ] },
  { id: '24E6-581D-38E5', description: 'BigQuery', weight: 18, regional: true, skus: [
    { id: '3362-E469-6BEF', description: 'Analysis', unit: 'tebibyte', price: 6.25, usage: 0.4 },
    { id: '5C87-7D1B-9F3E', description: 'Active Logical Storage', unit: 'gibibyte month', price: 0.02, usage: 2000 },
    { id: '9E26-2DA5-1B44', description: 'Streaming Insert', unit: 'gibibyte', price: 0.05, usage: 10 },
  ] },
  { id: 'CCD8-9BF1-090E', description: 'Kubernetes Engine', weight: 14, regional: true, skus: [
    { id: 'B561-BFBD-1264', description: 'Autopilot Pod mCPU Requests', unit: 'hour', price: 0.0445, usage: 60 },
    { id: '8C1B-5D2A-7E11', description: 'Regional Kubernetes Clusters', unit: 'hour', price: 0.1, usage: 24 },
  ] },
  { id: '9662-B51E-5089', description: 'Cloud SQL', weight: 9, regional: true, skus: [
    { id: 'D8A3-5F3B-2B8E', description: 'Cloud SQL for PostgreSQL: Zonal - vCPU in Americas', unit: 'hour', price: 0.0413, usage: 48 },
    { id: '6F1B-4C7A-9E2D', description: 'Cloud SQL for PostgreSQL: Zonal - Standard storage in Americas', unit: 'gibibyte month', price: 0.17, usage: 100 },
  ] },
  { id: '152E-C115-5142', description: 'Cloud Run', weight: 5, regional: true, skus: [
    { id: '8A9F-2C7E-1D4B', description: 'CPU Allocation Time', unit: 'vCPU-second', price: 0.000024, usage: 400000 },
    { id: '3F5E-7A2B-9C1D', description: 'Requests', unit: 'requests', price: 0.0000004, usage: 2000000 },
  ] },
  { id: 'E505-1604-58F8', description: 'Networking', weight: 6, regional: false, skus: [
    { id: '984A-1F6E-0B7C', description: 'Network Inter Zone Egress', unit: 'gibibyte', price: 0.01, usage: 300 },
    { id: 'C5A2-8E3D-4F19', description: 'Cloud NAT Gateway Uptime', unit: 'hour', price: 0.0014, usage: 24 },
  ] },
  { id: '5490-F7B7-8DF6', description: 'Cloud Logging', weight: 3, regional: false, skus: [
    { id: '143F-A1B0-E0BE', description: 'Log Volume', unit: 'gibibyte', price: 0.5, usage: 8 },
  ] },
  { id: 'A1E8-BE35-7EBC', description: 'Cloud Pub/Sub', weight: 3, regional: false, skus: [
    { id: 'E8B4-2F6A-7C3D', description: 'Message Delivery Basic', unit: 'tebibyte', price: 40, usage: 0.02 },
  ] },
];

const PROJECTS = [
  { suffix: 'prod-web', name: 'Production Web', weight: 35, env: 'prod', team: 'web' },
  { suffix: 'data-platform', name: 'Data Platform', weight: 30, env: 'prod', team: 'data' },
  { suffix: 'ml-training', name: 'ML Training', weight: 15, env: 'prod', team: 'ml' },
  { suffix: 'staging', name: 'Staging', weight: 12, env: 'staging', team: 'platform' },
  { suffix: 'sandbox', name: 'Developer Sandbox', weight: 8, env: 'dev', team: 'platform' },
];
const REGIONS = ['us-central1', 'us-east1', 'europe-west1', 'asia-southeast1'];

/** mulberry32: small, fast, good enough for sample data, and reproducible everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pickWeighted<T extends { weight: number }>(items: T[], r: number): T {
  const total = items.reduce((s, i) => s + i.weight, 0);
  let x = r * total;
  for (const item of items) {
    x -= item.weight;
    if (x < 0) return item;
  }
  return items[items.length - 1] as T;
}

const round6 = (n: number): number => Math.round(n * 1e6) / 1e6;

function credits(service: Service, cost: number, rand: () => number): Array<{ name: string; amount: number; type: string }> {
  const out: Array<{ name: string; amount: number; type: string }> = [];
  if (service.description === 'Compute Engine' && rand() < 0.6) out.push({ name: 'Sustained Usage Discount', amount: round6(-cost * 0.2), type: 'SUSTAINED_USAGE_DISCOUNT' });
  if (service.description === 'Compute Engine' && rand() < 0.2) out.push({ name: 'Committed Usage Discount: CPU', amount: round6(-cost * 0.25), type: 'COMMITTED_USAGE_DISCOUNT' });
  if ((service.description === 'Cloud Run' || service.description === 'Cloud Pub/Sub') && rand() < 0.5) out.push({ name: 'Free Tier', amount: round6(-cost * 0.3), type: 'FREE_TIER' });
  if (rand() < 0.05) out.push({ name: 'Promotional credit', amount: round6(-cost * 0.1), type: 'PROMOTION' });
  return out;
}

/** Bounds shared by `POST /api/v1/admin/tenants/{id}/sample-data` and `npm run sample-data`. */
export const SAMPLE_DAYS_MAX = 400;

/** The first of the `days` days ending on `endDate` (YYYY-MM-DD, both). */
export const sampleFirstDay = (endDate: string, days: number): string =>
  new Date(Date.parse(`${endDate}T00:00:00Z`) - (days - 1) * 86_400_000).toISOString().slice(0, 10);

/**
 * Why `days` days ending on `endDate` cannot be loaded, or null: sample rows are for runs to read, so they cover
 * only days a run's `date` parameter accepts (DATE_PARAMETER_RANGE), never years the ISO format cannot write.
 */
export function sampleDaysProblem(endDate: string, days: number): string | null {
  const { first, last } = DATE_PARAMETER_RANGE;
  if (endDate > last) return `end_date must be on or before ${last}`;
  if (endDate < first || sampleFirstDay(endDate, days) < first) return `the ${days} days ending on end_date must start on or after ${first}`;
  return null;
}

export interface SampleBillingOptions {
  days?: number;
  rowsPerDay?: number;
  seed?: number;
  /** Last usage day loaded (inclusive), YYYY-MM-DD; default yesterday (UTC) of `now`. */
  endDate?: string;
  now?: Date;
  /** Keep existing rows (default: the table is recreated, so reloading never duplicates). */
  append?: boolean;
  batchSize?: number;
}

/** A stable billing account id per tenant, in GCP's XXXXXX-XXXXXX-XXXXXX shape. */
export function sampleBillingAccount(tenantId: string): string {
  const rand = seededRandom([...tenantId].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261));
  const part = (): string => Math.floor(rand() * 0xffffff).toString(16).toUpperCase().padStart(6, '0');
  return `${part()}-${part()}-${part()}`;
}

/** The sample rows of one usage day. */
export function generateDayRows(tenantId: string, day: string, rowsPerDay: number, rand: () => number): Row[] {
  const projectPrefix = tenantId.replace(/_/g, '-');
  const billingAccount = sampleBillingAccount(tenantId);
  const dayStart = Date.parse(`${day}T00:00:00Z`);
  const weekday = new Date(dayStart).getUTCDay();
  const weekendFactor = weekday === 0 || weekday === 6 ? 0.75 : 1;
  const rows: Row[] = [];
  for (let i = 0; i < rowsPerDay; i++) {
    const service = pickWeighted(SERVICES, rand());
    const sku = service.skus[Math.floor(rand() * service.skus.length)] as Sku;
    const project = pickWeighted(PROJECTS, rand());
    const hour = Math.floor(rand() * 24);
    const start = new Date(dayStart + hour * 3_600_000);
    const usage = round6(sku.usage * (0.4 + rand() * 1.2) * weekendFactor / 24);
    const isTax = rand() < 0.01;
    const cost = round6(usage * sku.price);
    const region = service.regional ? (REGIONS[Math.floor(rand() * REGIONS.length)] ?? 'us-central1') : 'global';
    rows.push({
      billing_account_id: billingAccount,
      service_id: service.id,
      service_description: service.description,
      sku_id: sku.id,
      sku_description: sku.description,
      project_id: `${projectPrefix}-${project.suffix}`,
      project_name: project.name,
      usage_start_time: start.toISOString(),
      usage_end_time: new Date(start.getTime() + 3_600_000).toISOString(),
      location_region: region,
      cost: isTax ? round6(cost * 0.08) : cost,
      currency: 'USD',
      currency_conversion_rate: 1,
      usage_amount: isTax ? 0 : usage,
      usage_unit: sku.unit,
      credits: isTax ? [] : credits(service, cost, rand),
      labels: [
        { key: 'env', value: project.env },
        { key: 'team', value: project.team },
        { key: 'cost_center', value: `cc-${project.team}` },
      ],
      cost_type: isTax ? 'tax' : 'regular',
      invoice_month: day.slice(0, 4) + day.slice(5, 7),
      export_time: new Date(start.getTime() + (2 + Math.floor(rand() * 5)) * 3_600_000).toISOString(),
    });
  }
  return rows;
}

export interface SampleLoadResult {
  table: string;
  rows: number;
  fromDate: string;
  toDate: string;
}

/** Creates (or recreates) `{tenant}.gcp_billing_export_v1` and loads `days` × `rowsPerDay` rows in batches. */
export async function loadSampleBillingData(
  warehouse: Warehouse,
  tenantId: string,
  options: SampleBillingOptions = {},
  onProgress?: (p: { rowsWritten: number; rowsTotal: number }) => void,
): Promise<SampleLoadResult> {
  // Sample rows go only into a tenant's own dataset, never `tenants`, `customers` or an engine catalog.
  await tenantDataset(warehouse, tenantId);
  const days = options.days ?? 30;
  const rowsPerDay = options.rowsPerDay ?? 500;
  const batchSize = options.batchSize ?? 2000;
  const now = options.now ?? new Date();
  const end = options.endDate ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1)).toISOString().slice(0, 10);
  const outOfRange = sampleDaysProblem(end, days);
  if (outOfRange !== null) throw validationError([{ field: 'end_date', message: outOfRange }]);
  const endMs = Date.parse(`${end}T00:00:00Z`);
  const dayAt = (i: number): string => new Date(endMs - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10);

  const ref = { dataset: tenantId, table: BILLING_EXPORT_TABLE };
  await warehouse.createDataset(tenantId);
  if (!options.append) await warehouse.dropTable(ref);
  await warehouse.createTable(ref, billingExportSpec);

  const rand = seededRandom(options.seed ?? 42);
  const rowsTotal = days * rowsPerDay;
  let rowsWritten = 0;
  let pending: Row[] = [];
  const send = async (): Promise<void> => {
    await warehouse.insertRows(ref, pending);
    rowsWritten += pending.length;
    pending = [];
    onProgress?.({ rowsWritten, rowsTotal });
  };
  for (let i = 0; i < days; i++) {
    pending.push(...generateDayRows(tenantId, dayAt(i), rowsPerDay, rand));
    while (pending.length >= batchSize) {
      const rest = pending.splice(batchSize);
      await send();
      pending = rest;
    }
  }
  if (pending.length > 0) await send();
  return { table: `${tenantId}.${BILLING_EXPORT_TABLE}`, rows: rowsWritten, fromDate: dayAt(0), toDate: end };
}
