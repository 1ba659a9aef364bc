import { auditExportResponse } from '@/server/audit/export';
import { exportRoute } from '@/server/lists/export-route';

export const dynamic = 'force-dynamic';

/** GET /api/audit/export?format=csv|jsonl&<the audit page's filter>: streamed, one keyset batch at a time. */
export const GET = exportRoute(auditExportResponse);
