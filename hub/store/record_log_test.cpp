#include "hub/store/record_log.hpp"

#include <gtest/gtest.h>

#include "simnet/sim_disk.hpp"

namespace hub::store {
namespace {

Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

TEST(RecordLog, RecoversWhatWasSynced) {
    simnet::SimDisk disk;
    RecordLog log(disk, "a.log");
    ASSERT_TRUE(log.recover().ok());
    ASSERT_TRUE(log.append(bytes("one")).ok());
    ASSERT_TRUE(log.append(bytes("two")).ok());
    ASSERT_TRUE(log.sync().ok());
    RecordLog again(disk, "a.log");
    Result<std::vector<Bytes>> records = again.recover();
    ASSERT_TRUE(records.ok());
    ASSERT_EQ(records->size(), 2u);
    EXPECT_EQ((*records)[1], bytes("two"));
}

TEST(RecordLog, CrashDropsUnsyncedRecords) {
    simnet::SimDisk disk;
    RecordLog log(disk, "a.log");
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

TEST(RecordLog, TornTailIsCutAtEveryLength) {
    // Cut the file after every byte of the last record: recovery keeps the first record and
    // truncates the rest, so the next append lands on a clean boundary.
    const Bytes first = frame_record(bytes("first"));
    const Bytes second = frame_record(bytes("second record"));
    for (size_t cut = 0; cut < second.size(); ++cut) {
        simnet::SimDisk disk;
        Bytes file = first;
        file.insert(file.end(), second.begin(), second.begin() + cut);
        ASSERT_TRUE(disk.append("a.log", file).ok());
        RecordLog log(disk, "a.log");
        Result<std::vector<Bytes>> records = log.recover();
        ASSERT_TRUE(records.ok()) << "cut=" << cut;
        ASSERT_EQ(records->size(), 1u) << "cut=" << cut;
        EXPECT_EQ(disk.read("a.log")->size(), first.size());
    }
}

TEST(RecordLog, CorruptionInTheMiddleIsRefused) {
    simnet::SimDisk disk;
    Bytes file = frame_record(bytes("first"));
    const Bytes second = frame_record(bytes("second"));
    file.insert(file.end(), second.begin(), second.end());
    file[kRecordHeaderBytes + 1] ^= 0x40;  // flip a bit inside the first payload
    ASSERT_TRUE(disk.append("a.log", file).ok());
    Result<std::vector<Bytes>> records = RecordLog(disk, "a.log").recover();
    ASSERT_FALSE(records.ok());
    EXPECT_EQ(records.status().code(), Code::corruption);
}

TEST(RecordLog, ImplausibleLengthIsNotAllocated) {
    simnet::SimDisk disk;
    const Bytes garbage = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    ASSERT_TRUE(disk.append("a.log", garbage).ok());
    Result<std::vector<Bytes>> records = RecordLog(disk, "a.log").recover();
    ASSERT_TRUE(records.ok());
    EXPECT_TRUE(records->empty());
}

}  // namespace
}  // namespace hub::store
