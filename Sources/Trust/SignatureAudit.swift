import EventLog

/// The signature pass of `verify`: every sealed segment of every origin, against the keys this store holds
/// (its own for its origin, `keys/trusted` for peers'). Tamper evidence the checksums cannot give: a record
/// changed and every hash recomputed still needs the origin's key to sign the new seal.
public enum SignatureAudit {
    public struct OriginResult: Sendable, Equatable {
        public var origin: OriginID
        public var signed = 0
        public var verified = 0
        /// Unsigned seals before the origin's first signed one: valid legacy history.
        public var legacyUnsigned = 0
        /// Signed, but no key is trusted for the origin: not checked.
        public var untrusted = 0
        public var keyName: String?
    }

    public struct Finding: Sendable, Equatable {
        public var origin: OriginID
        public var file: String
        public var lsn: UInt64
        public var message: String
    }

    public static func audit(_ reader: StoreReader, root: String, fs: any FileSystem = PosixFileSystem())
        throws(EventLogError) -> (origins: [OriginResult], findings: [Finding])
    {
        let keys = KeyStore(storeRoot: root, origin: reader.localOrigin, fs: fs)
        let journal = try keys.signedSeals()
        var results: [OriginResult] = []
        var findings: [Finding] = []
        for log in reader.logs {
            let o = log.origin
            let own = o == reader.localOrigin
            let verifiers = try keys.verifiers(for: o)
            var r = OriginResult(origin: o, keyName: verifiers.first?.name)
            // (For this origin, the journal read above holds where its signed history starts.)
            let since = own ? journal.keys.min() : try keys.signedSince(o)
            var seenSigned = false
            for entry in log.sealedCatalog {
                func found(_ m: String) {
                    findings.append(Finding(origin: o, file: entry.fileName, lsn: entry.firstLSN, message: m))
                }
                let seg: SealedSegment
                // A segment that does not open is reported by the structural pass.
                do throws(EventLogError) { seg = try log.openSealedSegment(entry) } catch { continue }
                let check = SealNote.check(seg, keys: verifiers)
                if own, let signed = journal[SignedPosition(epoch: entry.epoch, firstLSN: entry.firstLSN)] {
                    if signed.merkleRoot != hexString(seg.footer.merkleRoot) || signed.lastLSN != entry.lastLSN
                        || signed.previousSealHash != hexString(seg.footer.previousSealHash)
                    {
                        found(
                            "this origin's key signed other records for this position (LSNs \(entry.firstLSN)…\(signed.lastLSN), Merkle root \(signed.merkleRoot.prefix(16))…): the segment was replaced"
                        )
                    } else if check == .unsigned {
                        found(
                            "this origin's key signed this position, but the seal is unsigned: its signature was stripped"
                        )
                    }
                }
                switch check {
                case .unsigned:
                    if let since, SignedPosition(epoch: entry.epoch, firstLSN: entry.firstLSN) >= since, !seenSigned {
                        found("unsigned seal, but every seal of this origin from \(since) on is signed")
                    } else if seenSigned {
                        found(
                            "unsigned seal after the origin's signed history: a signed segment was replaced or its signature stripped"
                        )
                    } else {
                        r.legacyUnsigned += 1
                    }
                case .verified:
                    seenSigned = true
                    r.signed += 1
                    r.verified += 1
                case .untrusted:
                    seenSigned = true
                    r.signed += 1
                    r.untrusted += 1
                case .unknownKey, .badSignature, .malformed:
                    seenSigned = true
                    r.signed += 1
                    found("seal signature: \(check.summary)")
                }
            }
            if own {
                // Seals this origin signed that the log no longer holds, past everything it holds (a seal
                // signed but not yet renamed into place still has its events in the .open): deleted segments.
                let head = log.headLSN
                for (position, signed) in journal where position.firstLSN > head {
                    findings.append(
                        Finding(
                            origin: o,
                            file: SegmentName.make(epoch: position.epoch, firstLSN: position.firstLSN, sealed: true),
                            lsn: position.firstLSN,
                            message:
                                "this origin signed a seal for LSNs \(position.firstLSN)…\(signed.lastLSN) (keys/signed-seals), but the log ends at LSN \(head): its newest segments were deleted"
                        ))
                }
            }
            results.append(r)
        }
        return (results, findings)
    }
}
