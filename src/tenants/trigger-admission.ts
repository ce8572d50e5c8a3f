import type { Admission, AdmitRequest, AdmitResult } from './admission';
import type { Seats } from './seats';

/**
 * A trigger's admission with its seats: one call of the admission script checks the team seat, the provider
 * seat and the quotas and writes the run record. Seats this process confirmed a moment ago are not sent
 * (a new member or provider always reaches the atomic check); those the script confirmed are remembered.
 */
export async function admitWithSeats(admission: Admission, seats: Seats, req: AdmitRequest): Promise<AdmitResult> {
  const { provider, userId, ...rest } = req;
  const toCheck = seats.unconfirmed(req.tenantId, { ...(provider !== undefined ? { provider } : {}), ...(userId !== undefined ? { userId } : {}) });
  const result = await admission.admit({ ...rest, ...toCheck });
  // A missing profile stopped the script before or inside the seat checks: nothing is confirmed yet.
  if (result.outcome !== 'profile_missing') seats.confirmed(req.tenantId, toCheck);
  return result;
}
