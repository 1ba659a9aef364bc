import { historyExportResponse } from '@/server/history/export';
import { exportRoute } from '@/server/lists/export-route';

export const dynamic = 'force-dynamic';

/** GET /api/migrations/export?format=csv|jsonl&<the history page's filter>: streamed, one keyset batch at a time. */
export const GET = exportRoute(historyExportResponse);
