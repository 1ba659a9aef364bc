-- Audit rows are evidence: the database itself refuses to change or remove them, whatever client asks.
-- A future migration that redefines "AuditEvent" (Prisma's SQLite "RedefineTables" copy-and-rename) drops
-- these triggers with the old table and must create them again; server/audit/append-only.test.ts checks a
-- freshly migrated database has them.
CREATE TRIGGER "AuditEvent_no_update" BEFORE UPDATE ON "AuditEvent"
BEGIN
    SELECT RAISE(ABORT, 'AuditEvent is append-only: UPDATE refused');
END;

CREATE TRIGGER "AuditEvent_no_delete" BEFORE DELETE ON "AuditEvent"
BEGIN
    SELECT RAISE(ABORT, 'AuditEvent is append-only: DELETE refused');
END;

-- The chain link is checked where the write lock is held, so two writers (another process, a script) that
-- read the same last hash cannot fork the chain: the second insert is refused instead of silently branching.
-- The content hash needs SHA-256, which SQLite lacks; `npm run audit:verify` checks that part.
CREATE TRIGGER "AuditEvent_chain_link" BEFORE INSERT ON "AuditEvent"
WHEN NEW."hash" = ''
  OR NEW."prevHash" IS NOT COALESCE((SELECT "hash" FROM "AuditEvent" ORDER BY "id" DESC LIMIT 1), '')
BEGIN
    SELECT RAISE(ABORT, 'AuditEvent chain: a row must carry its hash and the previous row''s hash (use recordAudit)');
END;

-- Free-text search in details. Contentless FTS5 index (only the inverted index is stored; the text stays in
-- "AuditEvent"): LIKE '%…%' would read every row of a million-row log when the word is rare. It indexes the
-- values in the details JSON, not its keys: a key such as "source" is in nearly every row, so searching it
-- would narrow nothing and cost the most. Kept current by an insert trigger; append-only means no update or
-- delete triggers are needed. Text that is not JSON (never written by recordAudit) is indexed as it is,
-- rather than failing the insert.
CREATE VIRTUAL TABLE "AuditEventSearch" USING fts5("details", content = '', tokenize = 'unicode61 remove_diacritics 2', columnsize = 0);

INSERT INTO "AuditEventSearch" ("rowid", "details")
SELECT "id", CASE WHEN json_valid("details")
    THEN (SELECT group_concat("value", ' ') FROM json_tree("AuditEvent"."details") WHERE "type" NOT IN ('object', 'array'))
    ELSE "details" END
FROM "AuditEvent";

CREATE TRIGGER "AuditEvent_search_insert" AFTER INSERT ON "AuditEvent"
BEGIN
    INSERT INTO "AuditEventSearch" ("rowid", "details") VALUES (NEW."id", CASE WHEN json_valid(NEW."details")
        THEN (SELECT group_concat("value", ' ') FROM json_tree(NEW."details") WHERE "type" NOT IN ('object', 'array'))
        ELSE NEW."details" END);
END;

-- "Refused preflights", "failed migrations": action and result together are the most common question, and
-- each alone is a large share of the log, so either index alone would walk far for a rare pair.
CREATE INDEX "AuditEvent_action_result_at_idx" ON "AuditEvent"("action", "result", "at");

-- Covers the history charts (per day by outcome, durations, failure causes) without reading table rows.
CREATE INDEX "Migration_createdAt_state_durationMs_errorCode_idx" ON "Migration"("createdAt", "state", "durationMs", "errorCode");
