// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ICarbonRegistryTypes} from "./ICarbonRegistryTypes.sol";
import {ICarbonRegistryErrors} from "./ICarbonRegistryErrors.sol";

/// @title National carbon registry
/// @notice Holds a country's mitigation programmes and the serial blocks of credits they issue. Every state-changing
/// call carries a `requestRef` that the registry accepts once, ever, so a retried write never applies twice. The
/// registry records the keccak256 of the call's calldata with the reference: a retry of the same call reverts
/// `RegistryRequestAlreadyApplied`, a different call under a used reference reverts `RegistryRequestReferenceReused`
/// (ADR 0012).
///
/// Sequenced references (ADR 0015): a reference whose first 8 bytes are the ASCII tag "NCRSEQ01" is
/// `tag (8 bytes) | namespace (16 bytes) | sequence (8 bytes)`. Two consecutive references that differ only in the
/// lowest bit share one storage word, each keeping the low 128 bits of its call digest (lowest bit forced to 1), so
/// a writer that numbers its writes (a random namespace, then 0, 1, 2...) pays a new storage slot once every two
/// writes. Retry and reuse are told apart exactly as for any other reference. Other references store the full digest.
/// @dev Accounts are organisation ids (`uint40`); the node's operator key (registrar role) acts on their behalf.
interface ICarbonRegistry is ICarbonRegistryTypes, ICarbonRegistryErrors {
    // ---------------------------------------------------------------- events

    /// @notice A programme was registered and awaits authorisation.
    event ProgrammeCreated(uint40 indexed programmeId, bytes32 indexed requestRef, ProgrammeInput programme);
    /// @notice A programme was authorised and received the serial range `[serialStart, serialEnd]`.
    event ProgrammeAuthorised(uint40 indexed programmeId, bytes32 indexed requestRef, uint64 serialStart, uint64 serialEnd);
    /// @notice A programme was rejected (terminal).
    event ProgrammeRejected(uint40 indexed programmeId, bytes32 indexed requestRef);
    /// @notice A programme's off-chain details changed; `detailsHash` is the SHA-256 of their new canonical JSON.
    event ProgrammeDetailsUpdated(uint40 indexed programmeId, bytes32 indexed requestRef, bytes32 detailsHash);
    /// @notice Credits were issued, one new block per owner with a non-zero allocation.
    /// @param totalIssued The programme's issued credits after this issuance.
    /// @param merges A new block that continues its owner's last block is merged into it (see {BlockMerge}).
    event CreditsIssued(
        uint40 indexed programmeId,
        bytes32 indexed requestRef,
        uint64 amount,
        uint64 totalIssued,
        IssuedBlock[] blocks,
        BlockMerge[] merges
    );
    /// @notice Credits moved between accounts; `moves` lists the ranges in serial order.
    /// @param merges Received ranges merged with the receiver's adjacent blocks, in order (see {BlockMerge}).
    event CreditsTransferred(
        uint40 indexed programmeId,
        uint40 indexed from,
        uint40 indexed to,
        bytes32 requestRef,
        uint64 amount,
        BlockMove[] moves,
        BlockMerge[] merges
    );
    /// @notice Credits were retired into the Government's accounts; `credits` says how many and which ranges.
    event CreditsRetired(
        uint40 indexed programmeId,
        uint40 indexed from,
        uint40 indexed retirementId,
        bytes32 requestRef,
        RetirementInput details,
        RetiredCredits credits
    );
    /// @notice A certifier certified a programme.
    event ProgrammeCertified(uint40 indexed programmeId, uint40 indexed certifier, bytes32 requestRef);
    /// @notice A certifier's certification of a programme was revoked.
    event CertificationRevoked(uint40 indexed programmeId, uint40 indexed certifier, bytes32 requestRef);
    /// @notice An account was frozen (organisation suspended).
    event AccountFrozen(uint40 indexed account, bytes32 requestRef);
    /// @notice An account was unfrozen (organisation reactivated).
    event AccountUnfrozen(uint40 indexed account, bytes32 requestRef);
    /// @notice Transfers and retirements were paused (`paused`) or resumed registry-wide.
    event TransferPauseSet(bool paused, bytes32 requestRef);
    /// @notice The Government organisation that receives retirements changed.
    event GovernmentAccountSet(uint40 indexed account, bytes32 requestRef);
    /// @notice The registry's OMGE rate (share of every cross-border retirement, in basis points) changed.
    event OmgeRateSet(uint16 omgeBps, bytes32 requestRef);

    // ---------------------------------------------------------------- programme life cycle

    /// @notice Registers a programme in stage AwaitingAuthorization.
    /// @param programme The programme's data, including the hash of its off-chain details; see {ProgrammeInput}.
    /// @param requestRef Unique reference of this write.
    /// @return programmeId The new programme's id (a running counter from 1).
    function createProgramme(ProgrammeInput calldata programme, bytes32 requestRef) external returns (uint40 programmeId);

    /// @notice Authorises a programme: allocates its serial range from the country-wide counter and optionally issues.
    /// @dev Serials run from 1 to 2^64 - 1 country-wide; a range may end exactly at 2^64 - 1, and a programme whose
    /// estimate does not fit in the serials left is refused with `RegistrySerialsExhausted`.
    /// @param programmeId The programme.
    /// @param issueAmount Credits to issue at once (0 for none).
    /// @param requestRef Unique reference of this write.
    function authorise(uint40 programmeId, uint64 issueAmount, bytes32 requestRef) external;

    /// @notice Rejects a programme awaiting authorisation (terminal).
    /// @param programmeId The programme.
    /// @param requestRef Unique reference of this write.
    function reject(uint40 programmeId, bytes32 requestRef) external;

    /// @notice Issues further credits of an authorised programme, split among its owners by share.
    /// @dev Owner i receives floor(amount * share_i / 1e6); the remaining tonnes go one each to the owners with the
    /// largest remainders (amount * share_i mod 1e6), ties to the earlier owner. No tonne is lost or created.
    /// @param programmeId The programme.
    /// @param amount Credits to issue; issued + amount must not exceed the estimate.
    /// @param requestRef Unique reference of this write.
    function issue(uint40 programmeId, uint64 amount, bytes32 requestRef) external;

    /// @notice Anchors a new version of a programme's off-chain details (title, properties...) kept by the node.
    /// @dev Allowed in every stage but Rejected (`ProgrammeRejectedTerminal`); a zero hash is refused
    /// (`ProgrammeInvalidDetailsHash`). The credit-relevant fields of a programme never change this way.
    /// @param programmeId The programme.
    /// @param detailsHash SHA-256 of the canonical JSON of the new details; not zero.
    /// @param requestRef Unique reference of this write.
    function updateProgrammeDetails(uint40 programmeId, bytes32 detailsHash, bytes32 requestRef) external;

    /// @notice Records that `certifier` certifies a programme awaiting authorisation or authorised.
    /// @param programmeId The programme.
    /// @param certifier The certifier's organisation id; must not be frozen.
    /// @param requestRef Unique reference of this write.
    function certify(uint40 programmeId, uint40 certifier, bytes32 requestRef) external;

    /// @notice Revokes `certifier`'s certification of a programme.
    /// @param programmeId The programme.
    /// @param certifier The certifier's organisation id.
    /// @param requestRef Unique reference of this write.
    function revokeCertification(uint40 programmeId, uint40 certifier, bytes32 requestRef) external;

    // ---------------------------------------------------------------- credits

    /// @notice Moves `amount` credits of a programme from `from` to `to`, lowest serials first.
    /// @dev Whole blocks change holder in place; the last block is split when only part of it is needed. A received
    /// range adjacent to one of the receiver's blocks is merged with it (ADR 0015). Gas grows with the sender blocks
    /// the amount spans (measured: 9.4k per block, 16.5k when each merges on both sides, so at most about 1,800
    /// blocks in a 30M-gas block) and, when the range lands before the receiver's last block, with the receiver
    /// blocks walked to find its place (2.4k each). A caller splits a larger move into calls of fewer blocks,
    /// planned with `blocksOf` (ADR 0015).
    /// @param programmeId The programme.
    /// @param from The sending account; must not be frozen.
    /// @param to The receiving account.
    /// @param amount Credits to move.
    /// @param requestRef Unique reference of this write.
    function transfer(uint40 programmeId, uint40 from, uint40 to, uint64 amount, bytes32 requestRef) external;

    /// @notice Retires `amount` credits held by `from` into the Government's international (cross-border) or local
    /// account. Of a cross-border retirement, floor(amount * omgeRate / 10,000) credits go to the OMGE account (the
    /// highest serials retired) and the rest to the international account; `details.omgeBps` must equal the
    /// registry's rate. Retired blocks are terminal and never merged. The beneficiary is stored (`getRetirement`).
    /// Gas grows with the holder's blocks retired (measured: 8.5k per block, at most about 3,500 in a 30M-gas block).
    /// @param programmeId The programme.
    /// @param from The holder; must not be frozen.
    /// @param amount Credits to retire, including the OMGE share.
    /// @param details Type, receiving country and beneficiary, the OMGE rate the caller expects.
    /// @param requestRef Unique reference of this write.
    /// @return retirementId The new retirement's id.
    function retire(
        uint40 programmeId,
        uint40 from,
        uint64 amount,
        RetirementInput calldata details,
        bytes32 requestRef
    ) external returns (uint40 retirementId);

    // ---------------------------------------------------------------- accounts and registry controls

    /// @notice Freezes an account: it can no longer send, retire or certify.
    /// @param account The organisation id.
    /// @param requestRef Unique reference of this write.
    function freezeAccount(uint40 account, bytes32 requestRef) external;

    /// @notice Unfreezes a frozen account.
    /// @param account The organisation id.
    /// @param requestRef Unique reference of this write.
    function unfreezeAccount(uint40 account, bytes32 requestRef) external;

    /// @notice Pauses all transfers and retirements (pauser role).
    /// @param requestRef Unique reference of this write.
    function pauseTransfers(bytes32 requestRef) external;

    /// @notice Resumes transfers and retirements (pauser role).
    /// @param requestRef Unique reference of this write.
    function unpauseTransfers(bytes32 requestRef) external;

    /// @notice Sets the Government organisation whose accounts receive retirements (admin role).
    /// @param account The Government's organisation id.
    /// @param requestRef Unique reference of this write.
    function setGovernmentAccount(uint40 account, bytes32 requestRef) external;

    /// @notice Sets the registry's OMGE rate, the share of every cross-border retirement retired into the OMGE
    /// account (registrar role: the node records the Government's setting; zero until first set).
    /// @param omgeBps The rate in basis points; below 10,000 (`RetirementInvalidOmgeShare`).
    /// @param requestRef Unique reference of this write.
    function setOmgeRate(uint16 omgeBps, bytes32 requestRef) external;

    // ---------------------------------------------------------------- views

    /// @notice The registry's country (ISO 3166-1 alpha-2).
    function country() external view returns (bytes2);

    /// @notice The Government organisation that receives retirements.
    function governmentAccount() external view returns (uint40);

    /// @notice The OMGE rate of cross-border retirements, in basis points.
    function omgeRate() external view returns (uint16);

    /// @notice Counters: programmes created, highest serial allocated country-wide, retirements recorded.
    function totals() external view returns (uint40 programmeCount, uint64 serialCounter, uint40 retirementCount);

    /// @notice A programme's full state.
    function getProgramme(uint40 programmeId) external view returns (ProgrammeView memory);

    /// @notice Credits of a programme held by an account.
    function balanceOf(uint40 programmeId, uint40 account) external view returns (uint64);

    /// @notice A page of the blocks of a programme held by an account, in serial order.
    /// @dev Also how a caller plans a move too large for one call (ADR 0015): the credits of each page of at most N
    /// blocks are one call's amount, as every call consumes the front of the list.
    /// @param fromBlockEnd The first block of the page (a `next` from the previous page), or 0 to start at the first.
    /// @param limit The most blocks to return.
    /// @return page The blocks.
    /// @return next The id of the block after the page, or 0 when the page reaches the end.
    function blocksOf(uint40 programmeId, uint40 account, uint64 fromBlockEnd, uint256 limit)
        external
        view
        returns (BlockView[] memory page, uint64 next);

    /// @notice The serial block whose last serial is `blockEnd` (a block's id).
    function getBlock(uint64 blockEnd) external view returns (BlockView memory);

    /// @notice A retirement by id.
    function getRetirement(uint40 retirementId) external view returns (RetirementView memory);

    /// @notice Whether an account is frozen.
    function isFrozen(uint40 account) external view returns (bool);

    /// @notice Whether a request reference was already applied (by this implementation or an earlier one).
    function isRequestApplied(bytes32 requestRef) external view returns (bool);

    /// @notice The keccak256 of the calldata of the call a request reference was applied to.
    /// @return digest The call digest; zero when the reference is unused, and for a reference applied before
    /// implementation 1.1.0, which recorded no digest (`isRequestApplied` tells them apart). For a sequenced
    /// reference: the low 128 bits of the digest with the lowest bit set (what is stored), high bits zero.
    function requestDigest(bytes32 requestRef) external view returns (bytes32 digest);

    /// @notice Whether `certifier` currently certifies the programme.
    function isCertifiedBy(uint40 programmeId, uint40 certifier) external view returns (bool);

    /// @notice Version of the implementation behind the proxy.
    function version() external pure returns (string memory);
}
