#include "hub/store/record_log.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "simnet/sim_disk.hpp"

namespace hub::store {
namespace {

Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

constexpr uint64_t kSalt = 0x0123456789abcdefULL;

// Writes records through a RecordLog and returns the file's bytes.
Bytes written(simnet::SimDisk& disk, const std::vector<Bytes>& payloads) {
    RecordLog log(disk, "a.log", kSalt);
    EXPECT_TRUE(log.recover().ok());
    for (const Bytes& p : payloads) {
        EXPECT_TRUE(log.append(p).ok());
    }
    EXPECT_TRUE(log.sync().ok());
    return *disk.read("a.log");
}

// Records read back one at a time by their frame's offset and size, checksums verified.
TEST(RecordLog, ReadsOneRecordBackByItsOffset) {
    simnet::SimDisk disk;
    RecordLog log(disk, "a.log", kSalt);
    ASSERT_TRUE(log.recover().ok());
    ASSERT_TRUE(log.append(bytes("one")).ok());
    const uint64_t second = log.size_bytes();
    ASSERT_TRUE(log.append(bytes("second")).ok());
    EXPECT_EQ(second, kFileHeaderBytes + kRecordHeaderBytes + 3);
    const uint32_t frame = kRecordHeaderBytes + 6;
    EXPECT_EQ(*log.read_record(second, frame), bytes("second"));
    EXPECT_EQ(*log.read_record(kFileHeaderBytes, kRecordHeaderBytes + 3), bytes("one"));
    EXPECT_EQ(log.read_record(second, frame - 1).status().code(), Code::corruption);
    EXPECT_EQ(log.read_record(second + 1, frame).status().code(), Code::corruption);
    RecordLog reopened(disk, "a.log");
    ASSERT_TRUE(reopened.recover().ok());
    EXPECT_EQ(*reopened.read_record(second, frame), bytes("second"));
    ASSERT_TRUE(disk.pwrite("a.log", second + kRecordHeaderBytes, bytes("S")).ok());
    EXPECT_EQ(reopened.read_record(second, frame).status().code(), Code::corruption);
}

// A salt source is drawn from only when a new file starts: reopening leaves the stream alone.
TEST(RecordLog, ASaltSourceIsDrawnOnlyForANewFile) {
    simnet::SimDisk disk;
    Random source(5);
    Random expected(5);
    RecordLog log(disk, "a.log", source);
    ASSERT_TRUE(log.recover().ok());
    EXPECT_EQ(log.salt(), expected.next_u64());
    ASSERT_TRUE(log.append(bytes("one")).ok());
    ASSERT_TRUE(log.sync().ok());
    RecordLog again(disk, "a.log", source);
    ASSERT_EQ(again.recover()->size(), 1u);
    EXPECT_EQ(again.salt(), log.salt());
    EXPECT_EQ(source.next_u64(), expected.next_u64());  // nothing drawn by the reopen
    EXPECT_NE(successor_salt(log.salt()), log.salt());
}

TEST(RecordLog, RecoversWhatWasSynced) {
    simnet::SimDisk disk;
    RecordLog log(disk, "a.log", kSalt);
    ASSERT_TRUE(log.recover().ok());
    ASSERT_TRUE(log.append(bytes("one")).ok());
    ASSERT_TRUE(log.append(bytes("two")).ok());
    ASSERT_TRUE(log.sync().ok());
    EXPECT_EQ(log.size_bytes(), disk.read("a.log")->size());
    RecordLog again(disk, "a.log", /*new_file_salt=*/99);
    Result<std::vector<Bytes>> records = again.recover();
    ASSERT_TRUE(records.ok());
    ASSERT_EQ(records->size(), 2u);
    EXPECT_EQ((*records)[1], bytes("two"));
    EXPECT_EQ(again.salt(), kSalt);  // the file's salt, not the new-file one
    EXPECT_EQ(again.size_bytes(), log.size_bytes());
}

TEST(RecordLog, CrashDropsUnsyncedRecords) {
    simnet::SimDisk disk;
    RecordLog log(disk, "a.log", kSalt);
    ASSERT_TRUE(log.recover().ok());
    ASSERT_TRUE(log.append(bytes("durable")).ok());
    ASSERT_TRUE(log.sync().ok());
    ASSERT_TRUE(log.append(bytes("volatile")).ok());
    Random random(1);
    disk.crash(random);
    Result<std::vector<Bytes>> records = RecordLog(disk, "a.log").recover();
    ASSERT_TRUE(records.ok());
    ASSERT_GE(records->size(), 1u);
    EXPECT_EQ((*records)[0], bytes("durable"));
}

TEST(RecordLog, TheSaltChangesEveryChecksum) {
    simnet::SimDisk a;
    simnet::SimDisk b;
    const Bytes one = written(a, {bytes("same payload")});
    RecordLog other(b, "a.log", kSalt + 1);
    ASSERT_TRUE(other.recover().ok());
    ASSERT_TRUE(other.append(bytes("same payload")).ok());
    const Bytes two = *b.read("a.log");
    ASSERT_EQ(one.size(), two.size());
    const auto crc_of_record = [](const Bytes& file) {
        return Bytes(file.begin() + kFileHeaderBytes + 4, file.begin() + kFileHeaderBytes + 8);
    };
    EXPECT_NE(crc_of_record(one), crc_of_record(two));
}

TEST(RecordLog, TornTailIsCutAtEveryLength) {
    // Cut the file after every byte of the last record: recovery keeps the first record and
    // truncates the rest, so the next append lands on a clean boundary.
    simnet::SimDisk source;
    const Bytes full = written(source, {bytes("first"), bytes("second record")});
    const size_t first_end = kFileHeaderBytes + kRecordHeaderBytes + 5;
    for (size_t cut = first_end; cut < full.size(); ++cut) {
        simnet::SimDisk disk;
        ASSERT_TRUE(disk.append("a.log", ByteView(full).first(cut)).ok());
        RecordLog log(disk, "a.log");
        Result<std::vector<Bytes>> records = log.recover();
        ASSERT_TRUE(records.ok()) << "cut=" << cut;
        ASSERT_EQ(records->size(), 1u) << "cut=" << cut;
        EXPECT_EQ(disk.read("a.log")->size(), first_end);
        ASSERT_TRUE(log.append(bytes("third")).ok());
        EXPECT_EQ(RecordLog(disk, "a.log").recover()->size(), 2u);
    }
}

TEST(RecordLog, TornHeaderMeansAnEmptyFile) {
    simnet::SimDisk source;
    const Bytes full = written(source, {bytes("first")});
    for (size_t cut = 1; cut < kFileHeaderBytes + kRecordHeaderBytes + 5; ++cut) {
        simnet::SimDisk disk;
        ASSERT_TRUE(disk.append("a.log", ByteView(full).first(cut)).ok());
        RecordLog log(disk, "a.log", 5);
        Result<std::vector<Bytes>> records = log.recover();
        ASSERT_TRUE(records.ok()) << "cut=" << cut << " " << records.status().to_string();
        EXPECT_TRUE(records->empty());
        const size_t kept = cut < kFileHeaderBytes ? 0 : kFileHeaderBytes;
        EXPECT_EQ(disk.read("a.log")->size(), kept) << "cut=" << cut;
        ASSERT_TRUE(log.append(bytes("again")).ok());  // writes a fresh header when none
        Result<std::vector<Bytes>> back = RecordLog(disk, "a.log").recover();
        ASSERT_TRUE(back.ok());
        ASSERT_EQ(back->size(), 1u);
        EXPECT_EQ((*back)[0], bytes("again"));
    }
}

// A device chooses D2C body bytes. If a body ends with "[len][crc][payload]" of the format it
// knows, and a crash tears the file right after that embedded frame, recovery must still see a
// torn tail, not a valid record after damage (which it would refuse as corruption). The file's
// secret salt makes the embedded frame fail its checksum.
TEST(RecordLog, ATornTailEndingInAForgedFrameIsStillATornTail) {
    const Bytes inner = bytes("forged-looking record");
    for (const Bytes& forged : {frame_record(inner), frame_record(inner, 0)}) {
        Bytes body = bytes("device-chosen prefix ");
        body.insert(body.end(), forged.begin(), forged.end());
        body.insert(body.end(), 40, 'z');  // the rest of the body, lost in the tear
        simnet::SimDisk source;
        const Bytes full = written(source, {bytes("acknowledged"), body});
        const size_t second = kFileHeaderBytes + kRecordHeaderBytes + 12;
        const size_t tear = second + kRecordHeaderBytes + 21 + forged.size();
        ASSERT_LT(tear, full.size());
        simnet::SimDisk disk;
        ASSERT_TRUE(disk.append("a.log", ByteView(full).first(tear)).ok());
        Result<std::vector<Bytes>> records = RecordLog(disk, "a.log").recover();
        ASSERT_TRUE(records.ok()) << records.status().to_string();
        ASSERT_EQ(records->size(), 1u);
        EXPECT_EQ((*records)[0], bytes("acknowledged"));
        EXPECT_EQ(disk.read("a.log")->size(), second);
    }
}

TEST(RecordLog, CorruptionInTheMiddleIsRefused) {
    simnet::SimDisk disk;
    Bytes file = written(disk, {bytes("first"), bytes("second")});
    file[kFileHeaderBytes + kRecordHeaderBytes + 1] ^= 0x40;  // a bit inside the first payload
    simnet::SimDisk damaged;
    ASSERT_TRUE(damaged.append("a.log", file).ok());
    Result<std::vector<Bytes>> records = RecordLog(damaged, "a.log").recover();
    ASSERT_FALSE(records.ok());
    EXPECT_EQ(records.status().code(), Code::corruption);
}

TEST(RecordLog, DamagedHeaderBeforeValidRecordsIsRefused) {
    simnet::SimDisk disk;
    const Bytes file = written(disk, {bytes("first"), bytes("second")});
    // A flip in the magic, the CRC, or either copy of the salt: the other copy still proves
    // the records after it are real.
    for (size_t at : {size_t{2}, size_t{5}, size_t{9}, size_t{17}, size_t{25}}) {
        Bytes damaged_bytes = file;
        damaged_bytes[at] ^= 0x01;
        simnet::SimDisk damaged;
        ASSERT_TRUE(damaged.append("a.log", damaged_bytes).ok());
        Result<std::vector<Bytes>> records = RecordLog(damaged, "a.log").recover();
        ASSERT_FALSE(records.ok()) << "at=" << at;
        EXPECT_EQ(records.status().code(), Code::corruption) << "at=" << at;
    }
}

TEST(RecordLog, PreviousFormatIsRefusedNotTruncated) {
    simnet::SimDisk disk;
    Bytes file = frame_record(bytes("old one"));
    const Bytes second = frame_record(bytes("old two"));
    file.insert(file.end(), second.begin(), second.end());
    ASSERT_TRUE(disk.append("a.log", file).ok());
    Result<std::vector<Bytes>> records = RecordLog(disk, "a.log").recover();
    ASSERT_FALSE(records.ok());
    EXPECT_EQ(records.status().code(), Code::failed_precondition);
    EXPECT_EQ(disk.read("a.log")->size(), file.size());
}

TEST(RecordLog, ImplausibleLengthIsNotAllocated) {
    simnet::SimDisk disk;
    const Bytes garbage = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    ASSERT_TRUE(disk.append("a.log", garbage).ok());
    Result<std::vector<Bytes>> records = RecordLog(disk, "a.log").recover();
    ASSERT_TRUE(records.ok());
    EXPECT_TRUE(records->empty());
}

TEST(RecordLog, CreateMakesADurableEmptyLog) {
    simnet::SimDisk disk;
    RecordLog log(disk, "a.log", kSalt);
    ASSERT_TRUE(log.recover().ok());
    ASSERT_TRUE(log.create().ok());
    EXPECT_EQ(disk.unsynced_bytes(), 0u);
    Random random(1);
    disk.crash(random);
    RecordLog again(disk, "a.log");
    ASSERT_TRUE(again.recover().ok());
    EXPECT_EQ(again.salt(), kSalt);
    EXPECT_EQ(again.size_bytes(), kFileHeaderBytes);
}

// Payloads a peer chooses, embedding frames it computed with any salt but the file's, torn at
// any byte of the last record: recovery returns every record before it, never corruption.
RC_GTEST_PROP(RecordLogProperty, ForgedFramesInATornTailNeverLookValid, ()) {
    // Not 0: the forger tries salt 0 too (a guess that hits is 2^-64 against a drawn salt).
    const uint64_t salt = *rc::gen::suchThat(rc::gen::arbitrary<uint64_t>(),
                                             [](uint64_t s) { return s != 0; });
    const uint64_t guess = *rc::gen::suchThat(rc::gen::arbitrary<uint64_t>(),
                                              [salt](uint64_t g) { return g != salt; });
    const auto count = *rc::gen::inRange<size_t>(1, 6);
    simnet::SimDisk source;
    RecordLog log(source, "a.log", salt);
    RC_ASSERT(log.recover().ok());
    std::vector<Bytes> payloads;
    size_t forged_end = 0;  // in the last payload: where its embedded frame ends
    for (size_t i = 0; i < count; ++i) {
        Bytes payload = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>());
        const Bytes inner = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>());
        const Bytes forged = *rc::gen::element(frame_record(inner), frame_record(inner, guess),
                                               frame_record(inner, 0));
        payload.insert(payload.end(), forged.begin(), forged.end());
        forged_end = payload.size();
        const Bytes rest = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>());
        payload.insert(payload.end(), rest.begin(), rest.end());
        RC_ASSERT(log.append(payload).ok());
        payloads.push_back(std::move(payload));
    }
    const Bytes full = *source.read("a.log");
    const size_t last = full.size() - kRecordHeaderBytes - payloads.back().size();
    // Half the time the tear lands right after the embedded frame: the forger's best case.
    const size_t cut = *rc::gen::oneOf(rc::gen::inRange<size_t>(last, full.size()),
                                       rc::gen::just(last + kRecordHeaderBytes + forged_end));
    RC_PRE(cut < full.size());
    simnet::SimDisk disk;
    RC_ASSERT(disk.append("a.log", ByteView(full).first(cut)).ok());
    Result<std::vector<Bytes>> records = RecordLog(disk, "a.log").recover();
    RC_ASSERT(records.ok());
    payloads.pop_back();
    RC_ASSERT(*records == payloads);
    RC_ASSERT(disk.read("a.log")->size() == last);
}

}  // namespace
}  // namespace hub::store
