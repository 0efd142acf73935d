// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";

import {CarbonRegistryProgrammes} from "./CarbonRegistryProgrammes.sol";
import {CarbonRegistryStorage} from "./CarbonRegistryStorage.sol";
import {ICarbonRegistry} from "./interfaces/ICarbonRegistry.sol";
import {Apportionment} from "./libraries/Apportionment.sol";

/// @title National carbon registry (UUPS implementation)
/// @notice Programme life cycle and serial-block accounting of one country's carbon credits.
/// @dev Deployed behind an ERC-1967 proxy; upgrades are authorised by DEFAULT_ADMIN_ROLE only. All state lives in
/// one ERC-7201 namespace so that upgrades (and OpenZeppelin's own namespaced parents) never collide.
///
/// Serial model: authorisation reserves `[serialStart, serialEnd]` (size = credit estimate) from the country-wide
/// counter. Issuance cuts consecutive blocks from `serialStart + creditIssued`. A holder's blocks of a programme form
/// a linked list sorted by serial; transfers and retirements consume it from the lowest serial and split the last
/// block by cutting its front. A block is therefore identified by its last serial, which never changes.
/// Invariant: per programme, creditIssued = sum of held balances + creditRetired, and no two blocks overlap.
///
/// Merging (ADR 0015): a range arriving at a holder (issuance or transfer) next to one of the holder's blocks of the
/// same programme is merged with it, so consecutive receipts never fragment an account. Retired blocks are terminal
/// and never merged. A holding remembers the block before its last (`tailPrev`) so that the common case, a range
/// continuing the holder's last block, merges in O(1).
///
/// Serial arithmetic: serials run from 1 to type(uint64).max (0 means "no block"), and the last serial is issuable
/// like any other. A block's end is therefore always computed as `start + (size - 1)` (never `start + size`, which is
/// 2^64 for a block ending at the last serial), and no cursor is moved past the last serial it covers.
contract CarbonRegistry is
    ICarbonRegistry,
    CarbonRegistryStorage,
    Initializable,
    AccessControlUpgradeable,
    PausableUpgradeable,
    UUPSUpgradeable
{
    /// @dev Where `_insert` resumes in a holder's list (memory only): the block holding the previous insertion and
    /// the block before it (0: from the head), and the merges recorded so far (`merged` of `merges`, packed).
    struct Place {
        uint64 before;
        uint64 beforePrev;
        uint256 merged;
        uint256[] merges;
    }

    /// @dev This implementation's copy of `CarbonRegistryProgrammes` (ADR 0015), created with it.
    address private immutable _PROGRAMMES;

    /// @custom:oz-upgrades-unsafe-allow constructor state-variable-immutable
    constructor() {
        _disableInitializers();
        _PROGRAMMES = address(new CarbonRegistryProgrammes());
    }

    /// @notice Sets up the registry behind its proxy.
    /// @param admin Governance account: grants roles, authorises upgrades.
    /// @param registrar The node's operator key.
    /// @param pauser Account allowed to pause transfers.
    /// @param country_ ISO 3166-1 alpha-2 code of the registry's country.
    /// @param governmentAccount_ Organisation id of the Government, which receives retirements.
    function initialize(address admin, address registrar, address pauser, bytes2 country_, uint40 governmentAccount_)
        external
        initializer
    {
        __AccessControl_init();
        __Pausable_init();
        if (!_isCountryCode(country_)) revert ProgrammeInvalidCountry(country_, country_);
        if (governmentAccount_ == 0) revert RegistryInvalidAccount(0);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, registrar);
        _grantRole(PAUSER_ROLE, pauser);
        RegistryStorage storage $ = _registry();
        $.country = country_;
        $.governmentAccount = governmentAccount_;
        emit GovernmentAccountSet(governmentAccount_, bytes32(0));
    }

    // ================================================================ programme life cycle

    /// @inheritdoc ICarbonRegistry
    /// @dev Runs in `CarbonRegistryProgrammes` (delegatecall, this registry's storage; ADR 0015: code size).
    function createProgramme(ProgrammeInput calldata programme, bytes32 requestRef)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint40 programmeId)
    {
        address target = _PROGRAMMES;
        assembly {
            pop(programme) // the arguments are forwarded as they came (msg.data), so the digest is the same
            pop(requestRef)
            pop(programmeId)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @inheritdoc ICarbonRegistry
    function authorise(uint40 programmeId, uint64 issueAmount, bytes32 requestRef) external onlyRole(REGISTRAR_ROLE) {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        Programme storage p = _programmeIn($, programmeId, ProgrammeStage.AwaitingAuthorization);
        uint64 counter = $.serialCounter;
        uint64 estimate = p.creditEstimate;
        // Serials left = type(uint64).max - counter; the range may end exactly at the last serial.
        uint64 serialsLeft = type(uint64).max - counter;
        if (estimate > serialsLeft) revert RegistrySerialsExhausted(programmeId, estimate, serialsLeft);
        uint64 serialStart = counter + 1;
        uint64 serialEnd = counter + estimate;
        $.serialCounter = serialEnd;
        p.serialStart = serialStart;
        p.serialEnd = serialEnd;
        p.stage = ProgrammeStage.Authorised;
        emit ProgrammeAuthorised(programmeId, requestRef, serialStart, serialEnd);
        if (issueAmount != 0) _issue($, p, programmeId, issueAmount, requestRef);
    }

    /// @inheritdoc ICarbonRegistry
    function reject(uint40 programmeId, bytes32 requestRef) external onlyRole(REGISTRAR_ROLE) {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        Programme storage p = _programmeIn($, programmeId, ProgrammeStage.AwaitingAuthorization);
        p.stage = ProgrammeStage.Rejected;
        emit ProgrammeRejected(programmeId, requestRef);
    }

    /// @inheritdoc ICarbonRegistry
    function issue(uint40 programmeId, uint64 amount, bytes32 requestRef) external onlyRole(REGISTRAR_ROLE) {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        Programme storage p = _programmeIn($, programmeId, ProgrammeStage.Authorised);
        _issue($, p, programmeId, amount, requestRef);
    }

    /// @inheritdoc ICarbonRegistry
    function updateProgrammeDetails(uint40 programmeId, bytes32 detailsHash, bytes32 requestRef)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        Programme storage p = _programme($, programmeId);
        if (p.stage == ProgrammeStage.Rejected) revert ProgrammeRejectedTerminal(programmeId);
        if (detailsHash == bytes32(0)) revert ProgrammeInvalidDetailsHash();
        p.detailsHash = detailsHash;
        emit ProgrammeDetailsUpdated(programmeId, requestRef, detailsHash);
    }

    /// @inheritdoc ICarbonRegistry
    function certify(uint40 programmeId, uint40 certifier, bytes32 requestRef) external onlyRole(REGISTRAR_ROLE) {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        Programme storage p = _programme($, programmeId);
        if (p.stage == ProgrammeStage.Rejected) revert ProgrammeRejectedTerminal(programmeId);
        if (certifier == 0) revert RegistryInvalidAccount(certifier);
        _requireNotFrozen($, certifier);
        if (p.certifierIndex[certifier] != 0) revert ProgrammeAlreadyCertified(programmeId, certifier);
        p.certifiers.push(certifier);
        p.certifierIndex[certifier] = p.certifiers.length;
        emit ProgrammeCertified(programmeId, certifier, requestRef);
    }

    /// @inheritdoc ICarbonRegistry
    function revokeCertification(uint40 programmeId, uint40 certifier, bytes32 requestRef)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        Programme storage p = _programme($, programmeId);
        uint256 indexPlusOne = p.certifierIndex[certifier];
        if (indexPlusOne == 0) revert ProgrammeNotCertified(programmeId, certifier);
        uint40 last = p.certifiers[p.certifiers.length - 1];
        p.certifiers[indexPlusOne - 1] = last;
        p.certifierIndex[last] = indexPlusOne;
        p.certifiers.pop();
        delete p.certifierIndex[certifier];
        emit CertificationRevoked(programmeId, certifier, requestRef);
    }

    // ================================================================ credits

    /// @inheritdoc ICarbonRegistry
    function transfer(uint40 programmeId, uint40 from, uint40 to, uint64 amount, bytes32 requestRef)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        _requireNotPaused();
        if (to == 0) revert RegistryInvalidAccount(to);
        if (from == to) revert CreditsSelfTransfer(from);
        _requireNotFrozen($, from);
        Programme storage p = $.programmes[programmeId];
        _requireBalance($, p, programmeId, from, amount);
        BlockMove[] memory moves = _take($, p.holdings[from], amount, _tag(to, BlockState.Held, 0));
        BlockMerge[] memory merges = _link($, p.holdings[to], moves, amount);
        emit CreditsTransferred(programmeId, from, to, requestRef, amount, moves, merges);
    }

    /// @inheritdoc ICarbonRegistry
    function retire(
        uint40 programmeId,
        uint40 from,
        uint64 amount,
        RetirementInput calldata details,
        bytes32 requestRef
    ) external onlyRole(REGISTRAR_ROLE) returns (uint40 retirementId) {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        _requireNotPaused();
        _requireNotFrozen($, from);
        (BlockState state, uint64 omgeAmount) = _retirementTarget($, details, amount);
        Programme storage p = $.programmes[programmeId];
        _requireBalance($, p, programmeId, from, amount);

        retirementId = ++$.retirementCount;
        RetiredCredits memory credits =
            _retireBlocks($, p.holdings[from], amount, omgeAmount, state, retirementId);
        p.creditRetired += amount;
        Retirement storage r = $.retirements[retirementId];
        r.programmeId = programmeId;
        r.from = from;
        r.retirementType = details.retirementType;
        r.country = details.country;
        r.amount = amount;
        r.omgeAmount = omgeAmount;
        if (bytes(details.beneficiary).length != 0) r.beneficiary = details.beneficiary;
        emit CreditsRetired(programmeId, from, retirementId, requestRef, details, credits);
    }

    // ================================================================ accounts and registry controls

    /// @inheritdoc ICarbonRegistry
    function freezeAccount(uint40 account, bytes32 requestRef) external onlyRole(REGISTRAR_ROLE) {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        if (account == 0) revert RegistryInvalidAccount(account);
        _requireNotFrozen($, account);
        $.frozen[account] = true;
        emit AccountFrozen(account, requestRef);
    }

    /// @inheritdoc ICarbonRegistry
    function unfreezeAccount(uint40 account, bytes32 requestRef) external onlyRole(REGISTRAR_ROLE) {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        if (!$.frozen[account]) revert RegistryAccountNotFrozen(account);
        $.frozen[account] = false;
        emit AccountUnfrozen(account, requestRef);
    }

    /// @inheritdoc ICarbonRegistry
    function pauseTransfers(bytes32 requestRef) external onlyRole(PAUSER_ROLE) {
        _useRequest(_registry(), requestRef);
        _pause();
        emit TransferPauseSet(true, requestRef);
    }

    /// @inheritdoc ICarbonRegistry
    function unpauseTransfers(bytes32 requestRef) external onlyRole(PAUSER_ROLE) {
        _useRequest(_registry(), requestRef);
        _unpause();
        emit TransferPauseSet(false, requestRef);
    }

    /// @inheritdoc ICarbonRegistry
    function setGovernmentAccount(uint40 account, bytes32 requestRef) external onlyRole(DEFAULT_ADMIN_ROLE) {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        if (account == 0) revert RegistryInvalidAccount(account);
        $.governmentAccount = account;
        emit GovernmentAccountSet(account, requestRef);
    }

    /// @inheritdoc ICarbonRegistry
    function setOmgeRate(uint16 omgeBps, bytes32 requestRef) external onlyRole(REGISTRAR_ROLE) {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        if (omgeBps >= _BPS) revert RetirementInvalidOmgeShare(omgeBps);
        $.omgeBps = omgeBps;
        emit OmgeRateSet(omgeBps, requestRef);
    }

    // ================================================================ views

    /// @inheritdoc ICarbonRegistry
    function country() external view returns (bytes2) {
        return _registry().country;
    }

    /// @inheritdoc ICarbonRegistry
    function governmentAccount() external view returns (uint40) {
        return _registry().governmentAccount;
    }

    /// @inheritdoc ICarbonRegistry
    function omgeRate() external view returns (uint16) {
        return _registry().omgeBps;
    }

    /// @inheritdoc ICarbonRegistry
    function totals() external view returns (uint40 programmeCount, uint64 serialCounter, uint40 retirementCount) {
        RegistryStorage storage $ = _registry();
        return ($.programmeCount, $.serialCounter, $.retirementCount);
    }

    /// @inheritdoc ICarbonRegistry
    function getProgramme(uint40 programmeId) external view returns (ProgrammeView memory v) {
        Programme storage p = _programme(_registry(), programmeId);
        v.programmeId = programmeId;
        v.stage = p.stage;
        v.externalId = p.externalId;
        v.sector = p.sector;
        v.sectoralScope = p.sectoralScope;
        v.country = p.country;
        v.creditUnit = p.creditUnit;
        v.startTime = p.startTime;
        v.endTime = p.endTime;
        v.creditEstimate = p.creditEstimate;
        v.creditIssued = p.creditIssued;
        v.creditRetired = p.creditRetired;
        v.serialStart = p.serialStart;
        v.serialEnd = p.serialEnd;
        v.owners = p.owners;
        v.sharesPpm = p.sharesPpm;
        v.certifiers = p.certifiers;
        v.detailsHash = p.detailsHash;
    }

    /// @inheritdoc ICarbonRegistry
    function balanceOf(uint40 programmeId, uint40 account) external view returns (uint64) {
        return _registry().programmes[programmeId].holdings[account].balance;
    }

    /// @inheritdoc ICarbonRegistry
    function blocksOf(uint40 programmeId, uint40 account, uint64 fromBlockEnd, uint256 limit)
        external
        view
        returns (BlockView[] memory page, uint64 next)
    {
        RegistryStorage storage $ = _registry();
        uint64 first = $.programmes[programmeId].holdings[account].head;
        if (fromBlockEnd != 0) {
            Block storage from = $.blocks[fromBlockEnd];
            if (from.state != BlockState.Held || from.holder != account || from.programmeId != programmeId) {
                revert BlockNotFound(fromBlockEnd);
            }
            first = fromBlockEnd;
        }
        uint256 count;
        for (next = first; next != 0 && count < limit; next = $.blocks[next].next) ++count;
        page = new BlockView[](count);
        uint64 cursor = first;
        for (uint256 i = 0; i < count; ++i) {
            page[i] = _blockView($, cursor);
            cursor = $.blocks[cursor].next;
        }
    }

    /// @inheritdoc ICarbonRegistry
    function getBlock(uint64 blockEnd) external view returns (BlockView memory) {
        RegistryStorage storage $ = _registry();
        if ($.blocks[blockEnd].state == BlockState.None) revert BlockNotFound(blockEnd);
        return _blockView($, blockEnd);
    }

    /// @inheritdoc ICarbonRegistry
    function getRetirement(uint40 retirementId) external view returns (RetirementView memory) {
        Retirement storage r = _registry().retirements[retirementId];
        if (r.programmeId == 0) revert RetirementNotFound(retirementId);
        return RetirementView({
            retirementId: retirementId,
            programmeId: r.programmeId,
            from: r.from,
            retirementType: r.retirementType,
            country: r.country,
            amount: r.amount,
            omgeAmount: r.omgeAmount,
            beneficiary: r.beneficiary
        });
    }

    /// @inheritdoc ICarbonRegistry
    function isFrozen(uint40 account) external view returns (bool) {
        return _registry().frozen[account];
    }

    /// @inheritdoc ICarbonRegistry
    function isRequestApplied(bytes32 requestRef) external view returns (bool) {
        RegistryStorage storage $ = _registry();
        if (bytes8(requestRef) == _SEQUENCED_REF_TAG) return _lane($, requestRef) != 0;
        return $.requestDigests[requestRef] != 0 || $.appliedRequests[requestRef];
    }

    /// @inheritdoc ICarbonRegistry
    function requestDigest(bytes32 requestRef) external view returns (bytes32) {
        RegistryStorage storage $ = _registry();
        if (bytes8(requestRef) == _SEQUENCED_REF_TAG) return bytes32(_lane($, requestRef));
        return $.requestDigests[requestRef];
    }

    /// @inheritdoc ICarbonRegistry
    function isCertifiedBy(uint40 programmeId, uint40 certifier) external view returns (bool) {
        return _registry().programmes[programmeId].certifierIndex[certifier] != 0;
    }

    /// @inheritdoc ICarbonRegistry
    function version() external pure virtual returns (string memory) {
        return "1.2.0";
    }

    // ================================================================ internals

    function _authorizeUpgrade(address) internal override onlyRole(DEFAULT_ADMIN_ROLE) {}

    function _programme(RegistryStorage storage $, uint40 programmeId) private view returns (Programme storage p) {
        p = $.programmes[programmeId];
        if (p.stage == ProgrammeStage.None) revert ProgrammeNotFound(programmeId);
    }

    function _programmeIn(RegistryStorage storage $, uint40 programmeId, ProgrammeStage required)
        private
        view
        returns (Programme storage p)
    {
        p = _programme($, programmeId);
        if (p.stage != required) revert ProgrammeInvalidStage(programmeId, p.stage, required);
    }

    function _requireNotFrozen(RegistryStorage storage $, uint40 account) private view {
        if ($.frozen[account]) revert RegistryAccountFrozen(account);
    }

    /// @dev Only authorised programmes have credits, so a sufficient balance proves the stage; the stage is read
    /// only to explain a refusal.
    function _requireBalance(
        RegistryStorage storage $,
        Programme storage p,
        uint40 programmeId,
        uint40 holder,
        uint64 amount
    ) private view {
        if (amount == 0) revert CreditsInvalidAmount();
        uint64 balance = p.holdings[holder].balance;
        if (balance < amount) {
            _programmeIn($, programmeId, ProgrammeStage.Authorised);
            revert CreditsInsufficientBalance(programmeId, holder, balance, amount);
        }
    }

    /// @dev The OMGE share is rounded down (ADR 0015): it never exceeds the rate (50 credits at 1% give none, 100 give
    /// one), and with a rate below 10,000 bps it is always less than the retirement, so the international account
    /// gets at least one credit. The rate is the registry's; the caller must state it (`details.omgeBps`).
    function _retirementTarget(RegistryStorage storage $, RetirementInput calldata details, uint64 amount)
        private
        view
        returns (BlockState state, uint64 omgeAmount)
    {
        bool hasBeneficiary = bytes(details.beneficiary).length != 0;
        if (details.retirementType == RetirementType.CrossBorder) {
            if (!_isCountryCode(details.country) || !hasBeneficiary) {
                revert RetirementInvalidDetails(details.retirementType);
            }
            uint16 rate = $.omgeBps;
            if (details.omgeBps != rate) revert RetirementOmgeRateMismatch(details.omgeBps, rate);
            omgeAmount = uint64((uint256(amount) * rate) / _BPS);
            return (BlockState.RetiredInternational, omgeAmount);
        }
        if (details.country != bytes2(0) || hasBeneficiary || details.omgeBps != 0) {
            revert RetirementInvalidDetails(details.retirementType);
        }
        return (BlockState.RetiredLocal, 0);
    }

    function _issue(RegistryStorage storage $, Programme storage p, uint40 programmeId, uint64 amount, bytes32 ref)
        private
    {
        if (amount == 0) revert CreditsInvalidAmount();
        uint64 issued = p.creditIssued;
        if (amount > p.creditEstimate - issued) {
            revert ProgrammeEstimateExceeded(programmeId, issued, amount, p.creditEstimate);
        }
        uint64[] memory parts = Apportionment.split(amount, p.sharesPpm);
        (IssuedBlock[] memory issuedBlocks, BlockMerge[] memory merges) =
            _mintBlocks($, p, programmeId, parts, p.serialStart + issued);
        p.creditIssued = issued + amount;
        emit CreditsIssued(programmeId, ref, amount, issued + amount, issuedBlocks, merges);
    }

    /// @dev Cuts consecutive blocks from `firstSerial`, one per owner with a non-zero part, in owner order, each
    /// merged with its owner's last block when it continues it. The cursor moves to the serial after a block only when
    /// another block follows: after the last one it would be 2^64 when the issuance ends at the last serial.
    function _mintBlocks(
        RegistryStorage storage $,
        Programme storage p,
        uint40 programmeId,
        uint64[] memory parts,
        uint64 firstSerial
    ) private returns (IssuedBlock[] memory issuedBlocks, BlockMerge[] memory merges) {
        uint256 nonZero;
        for (uint256 i = 0; i < parts.length; ++i) {
            if (parts[i] != 0) ++nonZero;
        }
        issuedBlocks = new IssuedBlock[](nonZero);
        Place memory place;
        place.merges = new uint256[](nonZero);
        uint64 nextSerial = firstSerial;
        uint256 k;
        for (uint256 i = 0; i < parts.length; ++i) {
            if (parts[i] == 0) continue;
            uint40 owner = p.owners[i];
            uint64 end = nextSerial + (parts[i] - 1);
            issuedBlocks[k++] = _mintBlock($, p.holdings[owner], programmeId, owner, nextSerial, end, place);
            if (k < nonZero) nextSerial = end + 1;
        }
        merges = _merges(place);
    }

    /// @dev Stores the new block `[start, end]` of `owner` and links it into the owner's holding (merging it with the
    /// holding's last block when it continues it: new serials exceed every serial issued before).
    function _mintBlock(
        RegistryStorage storage $,
        Holding storage holding,
        uint40 programmeId,
        uint40 owner,
        uint64 start,
        uint64 end,
        Place memory place
    ) private returns (IssuedBlock memory) {
        _writeBlock($.blocks[end], start, programmeId, _tag(owner, BlockState.Held, 0));
        Holding memory h = _loadHolding(holding);
        (place.before, place.beforePrev) = (0, 0);
        _insert($, h, start, end, place);
        h.balance += end - start + 1;
        _storeHolding(holding, h);
        return IssuedBlock({holder: owner, start: start, end: end});
    }

    /// @dev Detaches `amount` credits from the front of `holding` (lowest serials first), splitting the last block,
    /// and hands them to `newHolder` in `newState`. The caller has checked the balance. A block's size
    /// `(end - start) + 1` fits in uint64 because serials start at 1, and `covered` never exceeds the holding's
    /// balance, so neither overflows at the end of the serial range. Only the front of the list goes, so `tailPrev`
    /// stays valid unless at most one block is left. A block that is cut keeps the rest and its id: `size` is
    /// positive and smaller than the block, so `splitEnd < end` and `splitEnd + 1` cannot overflow even when the
    /// block ends at the last serial.
    function _take(RegistryStorage storage $, Holding storage holding, uint64 amount, uint256 tag)
        private
        returns (BlockMove[] memory moves)
    {
        Holding memory h = _loadHolding(holding);
        uint256 count;
        uint64 covered;
        for (uint64 id = h.head; covered < amount; id = $.blocks[id].next) {
            covered += id - $.blocks[id].start + 1;
            ++count;
        }
        moves = new BlockMove[](count);
        uint64 remaining = amount;
        uint64 cursor = h.head;
        for (uint256 i = 0; i < count; ++i) {
            Block storage b = $.blocks[cursor];
            uint64 start = b.start;
            BlockMove memory move = moves[i];
            (move.start, move.sourceEnd) = (start, cursor);
            uint64 end = cursor;
            if (cursor - start < remaining) {
                remaining -= cursor - start + 1;
                cursor = b.next;
            } else {
                end = start + (remaining - 1);
                b.start = end + 1;
                remaining = 0;
            }
            move.end = end;
            _writeBlock($.blocks[end], start, b.programmeId, tag);
        }
        h.head = cursor;
        if (cursor == 0) h.tail = 0;
        if (cursor == h.tail) h.tailPrev = 0;
        h.balance -= amount;
        _storeHolding(holding, h);
    }

    /// @dev The holder, state and retirement fields of a block word (`Block` layout: start 0-63, next 64-127,
    /// programmeId 128-167, holder 168-207, state 208-215, retirementId 216-255).
    function _tag(uint40 holder, BlockState state, uint40 retirementId) private pure returns (uint256) {
        return (uint256(holder) << 168) | (uint256(uint8(state)) << 208) | (uint256(retirementId) << 216);
    }

    /// @dev Writes block `b` as `[start, its id]` of `programmeId` with no `next`, and the fields of `tag`, in one
    /// SSTORE.
    function _writeBlock(Block storage b, uint64 start, uint40 programmeId, uint256 tag) private {
        uint256 word = uint256(start) | (uint256(programmeId) << 128) | tag;
        assembly ("memory-safe") {
            sstore(b.slot, word)
        }
    }

    /// @dev Links moved blocks (ascending, disjoint from the holding, already stored as held by the holder with no
    /// `next`) into `holding`, keeping it sorted and merging each with adjacent blocks of the holding; returns the
    /// merges. Each insertion resumes from the previous one, so a call walks the receiver's list at most once.
    function _link(RegistryStorage storage $, Holding storage holding, BlockMove[] memory moves, uint64 amount)
        private
        returns (BlockMerge[] memory)
    {
        Holding memory h = _loadHolding(holding);
        Place memory place;
        place.merges = new uint256[](2 * moves.length);
        for (uint256 i = 0; i < moves.length; ++i) {
            _insert($, h, moves[i].start, moves[i].end, place);
        }
        h.balance += amount;
        _storeHolding(holding, h);
        return _merges(place);
    }

    /// @dev Inserts the stored block `[start, end]` (no `next` yet) into the holding `h` (whose blocks are all
    /// disjoint from it) at its place in serial order, merging it with the holding's block ending at `start - 1` and
    /// with the one starting at `end + 1`. Merging keeps the later block's id: `[a, start - 1]` + `[start, end]` is
    /// block `end` from `a`, and `[start, end]` + `[end + 1, b]` is block `b` from `start`; the absorbed block is
    /// deleted and each merge is recorded in `place`. Appending after the last block, the common case, is O(1)
    /// (`tailPrev` names the block whose `next` changes when the last block is re-keyed); otherwise the list is walked
    /// from `place` (the block holding the previous insertion, ascending calls) or from the head. The balance is the
    /// caller's.
    function _insert(RegistryStorage storage $, Holding memory h, uint64 start, uint64 end, Place memory place)
        private
    {
        uint64 tail = h.tail;
        if (tail != 0 && tail < start - 1) {
            // After the last block, not adjacent (`start - 1` cannot underflow: serials start at 1).
            $.blocks[tail].next = end;
            (h.tail, h.tailPrev, place.before, place.beforePrev) = (end, tail, end, tail);
            return;
        }
        uint64 before; // the holding's last block ending below `start` (0: none)
        uint64 beforePrev; // the block before `before` (0: `before` is the head), when it matters
        uint64 after_; // the holding's first block ending above `end`, which starts above `end` (0: none)
        if (tail != 0 && tail < start) {
            before = tail;
            if (tail == start - 1) {
                beforePrev = h.tailPrev;
                if (beforePrev == 0 && h.head != tail) beforePrev = _predecessor($, h.head, tail);
            }
        } else {
            before = place.before;
            beforePrev = place.beforePrev;
            after_ = before == 0 ? h.head : $.blocks[before].next;
            while (after_ != 0 && after_ < start) {
                beforePrev = before;
                before = after_;
                after_ = $.blocks[after_].next;
            }
        }
        bool joinBefore = before != 0 && before == start - 1;
        bool joinAfter = after_ != 0 && $.blocks[after_].start == end + 1;
        if (joinAfter) {
            // Block `after_` absorbs [start, end], and `before` too when it ends at `start - 1`.
            delete $.blocks[end];
            _record(place, start, after_, end);
            if (joinBefore) {
                start = $.blocks[before].start;
                delete $.blocks[before];
                _record(place, start, after_, before);
                _setNext($, h, beforePrev, after_);
                if (after_ == tail) h.tailPrev = beforePrev;
            }
            $.blocks[after_].start = start;
        } else if (joinBefore) {
            // Block `end` absorbs `before` and takes its place in the list.
            Block storage b = $.blocks[end];
            uint64 joinedStart = $.blocks[before].start;
            b.start = joinedStart;
            if (after_ != 0) b.next = after_;
            delete $.blocks[before];
            _record(place, joinedStart, end, before);
            _setNext($, h, beforePrev, end);
            if (after_ == 0) (h.tail, h.tailPrev) = (end, beforePrev);
            else if (after_ == tail) h.tailPrev = end;
        } else {
            if (after_ != 0) $.blocks[end].next = after_;
            _setNext($, h, before, end);
            if (after_ == 0) (h.tail, h.tailPrev) = (end, before);
            else if (after_ == tail) h.tailPrev = end;
        }
        place.before = joinAfter ? after_ : end;
        place.beforePrev = joinBefore ? beforePrev : before;
    }

    /// @dev Points the holding's list at `id` after block `previous` (at its head when `previous` is 0).
    function _setNext(RegistryStorage storage $, Holding memory h, uint64 previous, uint64 id) private {
        if (previous == 0) h.head = id;
        else $.blocks[previous].next = id;
    }

    /// @dev The block whose `next` is `id`, walking from `head` (`id` is in the list and is not its head). Used once
    /// per holding last changed by implementation 1.1.0, which kept no `tailPrev`.
    function _predecessor(RegistryStorage storage $, uint64 head, uint64 id) private view returns (uint64 cursor) {
        cursor = head;
        while ($.blocks[cursor].next != id) cursor = $.blocks[cursor].next;
    }

    /// @dev Appends a merge to `place`, packed as start | end << 64 | removedEnd << 128.
    function _record(Place memory place, uint64 start, uint64 end, uint64 removedEnd) private pure {
        place.merges[place.merged++] = uint256(start) | (uint256(end) << 64) | (uint256(removedEnd) << 128);
    }

    /// @dev The merges recorded in `place`, unpacked.
    function _merges(Place memory place) private pure returns (BlockMerge[] memory merges) {
        merges = new BlockMerge[](place.merged);
        for (uint256 i = 0; i < merges.length; ++i) {
            uint256 packed = place.merges[i];
            (merges[i].start, merges[i].end, merges[i].removedEnd) =
                (uint64(packed), uint64(packed >> 64), uint64(packed >> 128));
        }
    }

    /// @dev A holding in memory, read with one SLOAD (layout: head | tail << 64 | balance << 128 | tailPrev << 192).
    function _loadHolding(Holding storage holding) private view returns (Holding memory h) {
        uint256 word;
        assembly ("memory-safe") {
            word := sload(holding.slot)
        }
        (h.head, h.tail, h.balance, h.tailPrev) = (uint64(word), uint64(word >> 64), uint64(word >> 128),
            uint64(word >> 192));
    }

    /// @dev Writes a holding back with one SSTORE (the layout of `_loadHolding`).
    function _storeHolding(Holding storage holding, Holding memory h) private {
        uint256 word = uint256(h.head) | (uint256(h.tail) << 64) | (uint256(h.balance) << 128)
            | (uint256(h.tailPrev) << 192);
        assembly ("memory-safe") {
            sstore(holding.slot, word)
        }
    }

    /// @dev Moves `amount` credits into the Government's retired accounts: the first `amount - omgeAmount` into
    /// `state`, the rest into the OMGE account, each block marked with the retirement.
    function _retireBlocks(
        RegistryStorage storage $,
        Holding storage holding,
        uint64 amount,
        uint64 omgeAmount,
        BlockState state,
        uint40 retirementId
    ) private returns (RetiredCredits memory credits) {
        credits.governmentAccount = $.governmentAccount;
        credits.amount = amount;
        credits.omgeAmount = omgeAmount;
        if (amount > omgeAmount) {
            credits.moves =
                _take($, holding, amount - omgeAmount, _tag(credits.governmentAccount, state, retirementId));
        }
        if (omgeAmount != 0) {
            credits.omgeMoves =
                _take($, holding, omgeAmount, _tag(credits.governmentAccount, BlockState.RetiredOmge, retirementId));
        }
    }

    function _blockView(RegistryStorage storage $, uint64 blockEnd) private view returns (BlockView memory) {
        Block storage b = $.blocks[blockEnd];
        return BlockView({
            start: b.start,
            end: blockEnd,
            programmeId: b.programmeId,
            holder: b.holder,
            state: b.state,
            retirementId: b.retirementId
        });
    }
}
