import Foundation
import Testing

@testable import Shipping

/// Which rsync failures are a lost race over the shared `.rsync-partial/` (run again) and which are errors
/// (reported at once). The stderr lines are what rsync 3.5.0 printed when three transfers ran into one
/// directory at once (the ship process tests run the real thing).
@Suite struct RsyncTests {
    static let renamedAway =
        #"rsync: [receiver] rename failed for "/s/.aibrain/incoming/ffcc/00000001-00000000000000000001.seg" (from ffcc/.rsync-partial/00000001-00000000000000000001.seg): No such file or directory (2)"#
    static let stagedDirectoryGone =
        #"rsync: [receiver] rename "/s/.aibrain/incoming/ffcc/.00000001-00000000000000000001.seg.XS5uy4" -> "ffcc/.rsync-partial/00000001-00000000000000000001.seg": No such file or directory (2)"#
    static let discarded =
        "Unable to create partial-dir for ffcc/00000001-00000000000000000001.seg -- discarding completed file."
    static let summary =
        "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]"

    @Test func racesOverThePartialDirectoryAreRecognized() {
        #expect(Rsync.lostARace([Self.renamedAway, Self.summary].joined(separator: "\n")))
        #expect(Rsync.lostARace([Self.renamedAway, Self.renamedAway, Self.summary, ""].joined(separator: "\n")))
        #expect(Rsync.lostARace([Self.stagedDirectoryGone, Self.discarded, Self.summary].joined(separator: "\n")))
        // Older rsync prints no role.
        #expect(Rsync.lostARace(Self.renamedAway.replacingOccurrences(of: "[receiver] ", with: "")))
    }

    @Test func otherFailuresAreNotRetried() {
        #expect(!Rsync.lostARace(""))
        #expect(!Rsync.lostARace(Self.summary))
        // A race line beside a real error: the real error wins.
        let full =
            #"rsync: [receiver] write failed on "/s/.aibrain/incoming/ffcc/.x.seg.Ab12": No space left on device (28)"#
        #expect(!Rsync.lostARace([Self.renamedAway, full, Self.summary].joined(separator: "\n")))
        // A missing peer directory is not a race, even though it is ENOENT.
        let missing = #"rsync: [sender] change_dir "/nowhere/.aibrain/log" failed: No such file or directory (2)"#
        #expect(!Rsync.lostARace([missing, Self.summary].joined(separator: "\n")))
        // A partial-dir failure of another kind (permissions) is not a race.
        let denied =
            #"rsync: [receiver] rename failed for "/s/x.seg" (from ffcc/.rsync-partial/x.seg): Permission denied (13)"#
        #expect(!Rsync.lostARace(denied))
    }

    @Test func aRetriedTransferListsEachFileOnce() {
        let text = "ffcc/a.seg\t100\nffcc/b.seg\t200\nffcc/\t0\nffcc/b.seg\t200\nffcc/c.seg\t50\n"
        #expect(Rsync.parseTransfers(text).map(\.path) == ["ffcc/a.seg", "ffcc/b.seg", "ffcc/c.seg"])
        #expect(Rsync.parseTransfers(text).reduce(0) { $0 + $1.bytes } == 350)
    }

    @Test func theHintAfterRepeatedRacesSaysWhatHappened() {
        let hint = Rsync.hint(23, stderr: [Self.renamedAway, Self.summary].joined(separator: "\n"))
        #expect(hint.contains("at the same time"))
        #expect(!hint.contains("aibrain init"))
    }
}
