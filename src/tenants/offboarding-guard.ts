import { AppError } from '../shared/errors';
import { CENTRAL_DATASET, tenantOffboardings } from '../warehouse/tables';
import type { Warehouse } from '../warehouse/types';

/**
 * Admin changes that would bring a tenant back while it is being offboarded (reactivation, a new key, a forced
 * re-onboarding over its dataset) are refused until the offboarding finished: a resumed offboarding must not
 * find a key or a dataset it already deleted come back. Once finished, the DELETED profile refuses them itself.
 */
export async function assertNotBeingOffboarded(wh: Warehouse, tenantId: string): Promise<void> {
  const { rows } = await wh.query(
    `SELECT status FROM \`${CENTRAL_DATASET}.${tenantOffboardings.name}\` WHERE tenant_id = @tenant_id`,
    { params: { tenant_id: tenantId } },
  );
  if (rows[0] && rows[0]['status'] !== 'COMPLETED') {
    throw new AppError(409, 'OFFBOARD_IN_PROGRESS', `Tenant '${tenantId}' is being offboarded; finish it with POST /api/v1/admin/tenants/${tenantId}/offboard`);
  }
}
