// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ICarbonRegistryTypes} from "./interfaces/ICarbonRegistryTypes.sol";
import {ICarbonRegistryErrors} from "./interfaces/ICarbonRegistryErrors.sol";

/// @title Storage layout and shared internals of the national carbon registry
/// @notice The one ERC-7201 namespace every registry contract reads and writes (ADR 0004), and the request-reference
/// rule every write runs first (ADR 0005, 0012, 0015).
/// @dev Inherited by `CarbonRegistry` (the UUPS implementation) and `CarbonRegistryProgrammes` (code it runs by
/// delegatecall, ADR 0015), so both see exactly the same layout. No state variables here: only constants, types and
/// internal functions; the state is the namespace struct, whose fields are append-only.
abstract contract CarbonRegistryStorage is ICarbonRegistryTypes, ICarbonRegistryErrors {
    /// @notice Role of the node's operator key: every registry operation.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Role allowed to pause and resume transfers and retirements.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Upper bound on a programme's owners; keeps issuance gas bounded.
    uint256 public constant MAX_OWNERS = 16;
    /// @notice Longest external id, in bytes.
    uint256 public constant MAX_EXTERNAL_ID_BYTES = 64;
    uint16 internal constant _BPS = 10_000;
    /// @dev First 8 bytes of a sequenced request reference (ADR 0015), ASCII "NCRSEQ01".
    bytes8 internal constant _SEQUENCED_REF_TAG = "NCRSEQ01";

    /// @dev A holder's blocks of one programme: ids (last serials) of the first and last block, the total, and
    /// (since 1.2.0) the id of the block before the last. Layout: one slot (4 x 64 bits); `tailPrev` took the slot's
    /// unused high bits, which were zero, so it is append-only (ADR 0004). `tailPrev` is 0 when the holding has at
    /// most one block, and also in a list last changed by 1.1.0 ("unknown": found by walking the list once).
    struct Holding {
        uint64 head;
        uint64 tail;
        uint64 balance;
        uint64 tailPrev;
    }

    /// @dev The serial block `[start, end]`, stored under its id `end`. Layout: one slot (64 + 64 + 40 + 40 + 8 + 40).
    /// `next` is the id of the next block in the holder's list (0 at the end and for retired blocks); `holder` of a
    /// retired block is the Government and `retirementId` names the retirement.
    struct Block {
        uint64 start;
        uint64 next;
        uint40 programmeId;
        uint40 holder;
        BlockState state;
        uint40 retirementId;
    }

    /// @dev Layout: slot 0 = estimate, issued, retired (3 x 64) + stage, sector, scope (3 x 8) + country (16);
    /// slot 1 = serialStart, serialEnd, startTime, endTime (4 x 64); then unit, strings, arrays and mappings.
    /// Upgrade safety (ADR 0004): a Programme is stored only as a value of the `programmes` mapping, at
    /// keccak256(id . slot), so fields may be appended at its end (`detailsHash`, 1.1.0) without moving any existing
    /// field or overlapping another programme; never insert or reorder fields, and never embed it in an array or
    /// another struct.
    struct Programme {
        uint64 creditEstimate;
        uint64 creditIssued;
        uint64 creditRetired;
        ProgrammeStage stage;
        Sector sector;
        uint8 sectoralScope;
        bytes2 country;
        uint64 serialStart;
        uint64 serialEnd;
        uint64 startTime;
        uint64 endTime;
        bytes8 creditUnit;
        string externalId;
        uint40[] owners;
        uint32[] sharesPpm;
        uint40[] certifiers;
        mapping(uint40 certifier => uint256 indexPlusOne) certifierIndex;
        mapping(uint40 account => Holding) holdings;
        bytes32 detailsHash;
    }

    /// @dev Layout: one slot (40 + 40 + 8 + 16 + 64 + 64 bits), then (since 1.2.0) the beneficiary's string. Stored
    /// only as a value of the `retirements` mapping, so the appended field moves nothing (ADR 0004).
    struct Retirement {
        uint40 programmeId;
        uint40 from;
        RetirementType retirementType;
        bytes2 country;
        uint64 amount;
        uint64 omgeAmount;
        string beneficiary;
    }

    /// @custom:storage-location erc7201:carbonregistry.storage.CarbonRegistry
    struct RegistryStorage {
        bytes2 country;
        uint40 governmentAccount;
        uint40 programmeCount;
        uint64 serialCounter;
        uint40 retirementCount;
        mapping(uint40 programmeId => Programme) programmes;
        mapping(bytes32 externalIdHash => uint40 programmeId) programmeByExternalId;
        mapping(uint64 blockEnd => Block) blocks;
        mapping(uint40 retirementId => Retirement) retirements;
        mapping(uint40 account => bool) frozen;
        /// @dev References applied by implementation 1.0.0, which recorded no call. Read only since 1.1.0: a legacy
        /// `true` counts as applied to any call (see `_useRequest`).
        mapping(bytes32 requestRef => bool) appliedRequests;
        /// @dev Since 1.1.0: keccak256 of the calldata of the call each reference was applied to (never zero).
        mapping(bytes32 requestRef => bytes32 callDigest) requestDigests;
        /// @dev Since 1.2.0: sequenced references (ADR 0015), two per word keyed by the reference with its lowest bit
        /// cleared; lane 0 (low 128 bits) and lane 1 (high 128 bits) hold the low 128 bits of each call digest, lowest
        /// bit set so that a used lane is never zero.
        mapping(bytes32 referencePair => uint256 lanes) sequencedDigests;
        /// @dev Since 1.2.0: the OMGE rate of cross-border retirements, basis points, below 10,000.
        uint16 omgeBps;
    }

    // keccak256(abi.encode(uint256(keccak256("carbonregistry.storage.CarbonRegistry")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _REGISTRY_STORAGE = 0x8531ec85e81808d3e2e11682e74e3bca084fd6daf11fab278875ea6f5e9aed00;

    function _registry() internal pure returns (RegistryStorage storage $) {
        assembly ("memory-safe") {
            $.slot := _REGISTRY_STORAGE
        }
    }

    /// @dev Runs first in every write (after the role check), so a retry of an applied write always gets
    /// `RegistryRequestAlreadyApplied`, whatever else changed since. The reference is bound to the call (ADR 0012):
    /// its digest is keccak256(msg.data), selector and every argument (the reference included), as the proxy
    /// forwards it. The same call again is a retry (`RegistryRequestAlreadyApplied`); any other call under the same
    /// reference is refused with `RegistryRequestReferenceReused`, never mistaken for "already done". A reference
    /// applied before 1.1.0 has no digest (legacy `appliedRequests`): it counts as applied to any call. One new
    /// storage slot per write, as before; the legacy read costs one more cold SLOAD (2,100 gas).
    ///
    /// A sequenced reference (tag "NCRSEQ01", ADR 0015) keeps the low 128 bits of its digest (lowest bit set) in one
    /// lane of a word it shares with the reference that differs only in the lowest bit: a new slot once every two
    /// writes for a writer that numbers its references, and no legacy read (1.0.0 and 1.1.0 wrote random or hashed
    /// references, which start with the tag with probability 2^-64). A different call under a used sequenced
    /// reference is refused unless its digest agrees on those 127 bits (probability 2^-127, a security level of
    /// 127 bits, that of a 256-bit hash against collisions).
    function _useRequest(RegistryStorage storage $, bytes32 requestRef) internal {
        if (requestRef == bytes32(0)) revert RegistryInvalidRequestReference();
        bytes32 digest = keccak256(msg.data);
        if (bytes8(requestRef) == _SEQUENCED_REF_TAG) {
            bytes32 pair = requestRef & ~bytes32(uint256(1));
            uint256 lanes = $.sequencedDigests[pair];
            uint256 shift = (uint256(requestRef) & 1) << 7;
            uint256 used = uint128(lanes >> shift);
            uint256 lane = uint128(uint256(digest)) | 1;
            if (used != 0) {
                if (used != lane) revert RegistryRequestReferenceReused(requestRef, bytes32(used));
                revert RegistryRequestAlreadyApplied(requestRef);
            }
            $.sequencedDigests[pair] = lanes | (lane << shift);
            return;
        }
        bytes32 applied = $.requestDigests[requestRef];
        if (applied != 0) {
            if (applied != digest) revert RegistryRequestReferenceReused(requestRef, applied);
            revert RegistryRequestAlreadyApplied(requestRef);
        }
        if ($.appliedRequests[requestRef]) revert RegistryRequestAlreadyApplied(requestRef);
        $.requestDigests[requestRef] = digest;
    }

    /// @dev The stored lane of a sequenced reference: the low 128 bits of its call digest with the lowest bit set, or 0.
    function _lane(RegistryStorage storage $, bytes32 requestRef) internal view returns (uint256) {
        return uint128($.sequencedDigests[requestRef & ~bytes32(uint256(1))] >> ((uint256(requestRef) & 1) << 7));
    }

    function _isCountryCode(bytes2 code) internal pure returns (bool) {
        return code[0] >= "A" && code[0] <= "Z" && code[1] >= "A" && code[1] <= "Z";
    }
}
