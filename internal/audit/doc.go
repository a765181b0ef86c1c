// Package audit keeps Custos's audit trail: one record per request in
// CloudTrail's event format, written durably before the request is answered,
// chained by hashes, signed at intervals, queryable (CloudTrail LookupEvents,
// KMS GetKeyLastUsage) and exportable as CloudTrail log files.
//
// # Trail folder
//
// A trail lives in one folder (the server uses DATA/audit):
//
//	segment-00000000000000000001.jsonl   records 1..k (the name holds the first seq, 20 digits)
//	segment-0000000000000000000k+1.jsonl records k+1.. (the last segment is the one appended to)
//	digests.jsonl                        signed digests, one per line, append-only
//	public-key.pem                       the Ed25519 public key of the digests (PKIX, "PUBLIC KEY")
//	export.state                         {"exportedThrough":N}: the last seq exported
//	LOCK                                 held (flock) by the process that has the trail open
//
// # Record layout
//
// A segment is a sequence of lines, each one record, each ending in '\n'
// (0x0A), with exactly these bytes:
//
//	{"seq":SEQ,"prev":"PREV","event":EVENT}\n
//
// SEQ is the record's sequence number in decimal without leading zeros; the
// first record of a trail has seq 1 and each next record has the previous
// seq plus one, across segments. PREV is 64 lowercase hex digits: the SHA-256
// of the previous record's line (its bytes without the final '\n'), or 64
// zeros for seq 1. EVENT is the event as a compact JSON object (see Event)
// containing no raw newline. The hash of a record is SHA-256 over its line
// without the '\n'; changing, removing, inserting or reordering any record
// therefore breaks the chain at the next record.
//
// # Digest layout
//
// digests.jsonl holds one line per digest:
//
//	{"digest":BODY,"signature":"SIG"}\n
//
// BODY is a JSON object {"firstSeq":F,"lastSeq":L,"lastHash":"H","oldestSeq":O,
// "time":"RFC 3339","prev":"P","publicKey":"K"}: the digest covers records
// F..L (F is the previous digest's L plus one; L = F-1 when no record was
// added), H is the hash of record L (64 zeros when L is 0), O is the first
// seq the trail still holds (older segments were removed by retention), P is
// the SHA-256 of the previous digest line without its '\n' (64 zeros for the
// first), K is the hex SHA-256 of the public key (which key signed). SIG is
// the standard base64 of the Ed25519 signature over exactly the bytes of
// BODY as they appear in the line. A digest is written at every segment
// rotation (before the next segment is created), every Options.DigestInterval
// or Options.DigestEvery records, when the trail is opened with records not
// yet digested, after retention removes segments, and at Close. A digest
// covers only records already on disk.
//
// # Durability and crashes
//
// Append returns after the record's bytes are written and fdatasync'ed (group
// commit: the writer goroutine writes everything queued during the previous
// sync with one write and one sync). A crash can leave the last segment (or
// digests.jsonl) ending in an incomplete line: Verify of such files reports
// TornTail, and Open truncates the incomplete line, logs it and continues the
// chain from the last complete record.
//
// # Export
//
// Export writes CloudTrail log files, gzip-compressed {"Records":[EVENT,...]},
// under EXPORT/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
// ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_RANDOM.json.gz, one per account and
// region per interval, each with a signed digest file (same
// {"digest":BODY,"signature":"SIG"} scheme; BODY names the log file, its
// SHA-256 and the seq range) under .../CloudTrail-Digest/REGION/YYYY/MM/DD/.
package audit
