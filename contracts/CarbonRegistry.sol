// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";

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
/// Serial arithmetic: serials run from 1 to type(uint64).max (0 means "no block"), and the last serial is issuable
/// like any other. A block's end is therefore always computed as `start + (size - 1)` (never `start + size`, which is
/// 2^64 for a block ending at the last serial), and no cursor is moved past the last serial it covers.
contract CarbonRegistry is
    ICarbonRegistry,
    Initializable,
    AccessControlUpgradeable,
    PausableUpgradeable,
    UUPSUpgradeable
{
    /// @notice Role of the node's operator key: every registry operation.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Role allowed to pause and resume transfers and retirements.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Upper bound on a programme's owners; keeps issuance gas bounded.
    uint256 public constant MAX_OWNERS = 16;
    /// @notice Longest external id, in bytes.
    uint256 public constant MAX_EXTERNAL_ID_BYTES = 64;
    uint16 private constant _BPS = 10_000;

    /// @dev A holder's blocks of one programme: ids (last serials) of the first and last block, and the total.
    /// Layout: one slot (3 x 64 bits).
    struct Holding {
        uint64 head;
        uint64 tail;
        uint64 balance;
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

    /// @dev Layout: one slot (40 + 40 + 8 + 16 + 64 + 64 bits).
    struct Retirement {
        uint40 programmeId;
        uint40 from;
        RetirementType retirementType;
        bytes2 country;
        uint64 amount;
        uint64 omgeAmount;
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
    }

    // keccak256(abi.encode(uint256(keccak256("carbonregistry.storage.CarbonRegistry")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _REGISTRY_STORAGE = 0x8531ec85e81808d3e2e11682e74e3bca084fd6daf11fab278875ea6f5e9aed00;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
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
    function createProgramme(ProgrammeInput calldata input, bytes32 requestRef)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint40 programmeId)
    {
        RegistryStorage storage $ = _registry();
        _useRequest($, requestRef);
        _validateProgramme($, input);
        bytes32 externalIdHash = keccak256(bytes(input.externalId));
        uint40 existing = $.programmeByExternalId[externalIdHash];
        if (existing != 0) revert ProgrammeExternalIdTaken(input.externalId, existing);

        programmeId = ++$.programmeCount;
        $.programmeByExternalId[externalIdHash] = programmeId;
        Programme storage p = $.programmes[programmeId];
        p.creditEstimate = input.creditEstimate;
        p.stage = ProgrammeStage.AwaitingAuthorization;
        p.sector = input.sector;
        p.sectoralScope = input.sectoralScope;
        p.country = input.country;
        p.startTime = input.startTime;
        p.endTime = input.endTime;
        p.creditUnit = input.creditUnit;
        p.externalId = input.externalId;
        p.owners = input.owners;
        p.sharesPpm = input.sharesPpm;
        p.detailsHash = input.detailsHash;
        emit ProgrammeCreated(programmeId, requestRef, input);
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
        BlockMove[] memory moves = _take($, p.holdings[from], amount, to, BlockState.Held, 0);
        _link($, p.holdings[to], moves, amount);
        emit CreditsTransferred(programmeId, from, to, requestRef, amount, moves);
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
        (BlockState state, uint64 omgeAmount) = _retirementTarget(details, amount);
        Programme storage p = $.programmes[programmeId];
        _requireBalance($, p, programmeId, from, amount);

        retirementId = ++$.retirementCount;
        RetiredCredits memory credits =
            _retireBlocks($, p.holdings[from], amount, omgeAmount, state, retirementId);
        p.creditRetired += amount;
        $.retirements[retirementId] = Retirement({
            programmeId: programmeId,
            from: from,
            retirementType: details.retirementType,
            country: details.country,
            amount: amount,
            omgeAmount: omgeAmount
        });
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
            omgeAmount: r.omgeAmount
        });
    }

    /// @inheritdoc ICarbonRegistry
    function isFrozen(uint40 account) external view returns (bool) {
        return _registry().frozen[account];
    }

    /// @inheritdoc ICarbonRegistry
    function isRequestApplied(bytes32 requestRef) external view returns (bool) {
        RegistryStorage storage $ = _registry();
        return $.requestDigests[requestRef] != 0 || $.appliedRequests[requestRef];
    }

    /// @inheritdoc ICarbonRegistry
    function requestDigest(bytes32 requestRef) external view returns (bytes32) {
        return _registry().requestDigests[requestRef];
    }

    /// @inheritdoc ICarbonRegistry
    function isCertifiedBy(uint40 programmeId, uint40 certifier) external view returns (bool) {
        return _registry().programmes[programmeId].certifierIndex[certifier] != 0;
    }

    /// @inheritdoc ICarbonRegistry
    function version() external pure virtual returns (string memory) {
        return "1.1.0";
    }

    // ================================================================ internals

    function _authorizeUpgrade(address) internal override onlyRole(DEFAULT_ADMIN_ROLE) {}

    function _registry() private pure returns (RegistryStorage storage $) {
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
    function _useRequest(RegistryStorage storage $, bytes32 requestRef) private {
        if (requestRef == bytes32(0)) revert RegistryInvalidRequestReference();
        bytes32 digest = keccak256(msg.data);
        bytes32 applied = $.requestDigests[requestRef];
        if (applied != 0) {
            if (applied != digest) revert RegistryRequestReferenceReused(requestRef, applied);
            revert RegistryRequestAlreadyApplied(requestRef);
        }
        if ($.appliedRequests[requestRef]) revert RegistryRequestAlreadyApplied(requestRef);
        $.requestDigests[requestRef] = digest;
    }

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

    function _validateProgramme(RegistryStorage storage $, ProgrammeInput calldata input) private view {
        uint256 idLength = bytes(input.externalId).length;
        if (idLength == 0 || idLength > MAX_EXTERNAL_ID_BYTES) revert ProgrammeInvalidExternalId();
        if (!_scopeAllowed(input.sector, input.sectoralScope)) {
            revert ProgrammeInvalidSectoralScope(input.sector, input.sectoralScope);
        }
        if (input.country != $.country) revert ProgrammeInvalidCountry(input.country, $.country);
        if (input.creditUnit == bytes8(0)) revert ProgrammeInvalidCreditUnit();
        if (input.detailsHash == bytes32(0)) revert ProgrammeInvalidDetailsHash();
        if (input.endTime <= input.startTime) revert ProgrammeInvalidPeriod(input.startTime, input.endTime);
        if (input.creditEstimate == 0) revert ProgrammeInvalidCreditEstimate(input.creditEstimate);
        uint256 n = input.owners.length;
        if (n == 0 || n != input.sharesPpm.length || n > MAX_OWNERS) {
            revert ProgrammeInvalidOwners(n, input.sharesPpm.length, MAX_OWNERS);
        }
        uint256 sum;
        for (uint256 i = 0; i < n; ++i) {
            uint40 owner = input.owners[i];
            if (owner == 0) revert ProgrammeInvalidOwner(owner);
            for (uint256 j = 0; j < i; ++j) {
                if (input.owners[j] == owner) revert ProgrammeInvalidOwner(owner);
            }
            if (input.sharesPpm[i] == 0) revert ProgrammeInvalidShares(sum);
            sum += input.sharesPpm[i];
        }
        if (sum != Apportionment.PPM) revert ProgrammeInvalidShares(sum);
    }

    /// @dev Sector to CDM sectoral scopes, as the reference registry checks them; Health, Education and Hospitality
    /// admit any scope.
    function _scopeAllowed(Sector sector, uint8 scope) private pure returns (bool) {
        if (scope == 0 || scope > 15) return false;
        uint256 mask;
        if (sector == Sector.Energy) mask = (1 << 1) | (1 << 2) | (1 << 3);
        else if (sector == Sector.Transport) mask = 1 << 7;
        else if (sector == Sector.Manufacturing) mask = (1 << 4) | (1 << 5) | (1 << 9);
        else if (sector == Sector.Forestry) mask = 1 << 14;
        else if (sector == Sector.Waste) mask = (1 << 10) | (1 << 13);
        else if (sector == Sector.Agriculture) mask = 1 << 15;
        else if (sector == Sector.Other) mask = (1 << 6) | (1 << 8) | (1 << 11) | (1 << 12);
        else return true;
        return mask & (1 << scope) != 0;
    }

    function _isCountryCode(bytes2 code) private pure returns (bool) {
        return code[0] >= "A" && code[0] <= "Z" && code[1] >= "A" && code[1] <= "Z";
    }

    function _retirementTarget(RetirementInput calldata details, uint64 amount)
        private
        pure
        returns (BlockState state, uint64 omgeAmount)
    {
        bool hasBeneficiary = bytes(details.beneficiary).length != 0;
        if (details.retirementType == RetirementType.CrossBorder) {
            if (!_isCountryCode(details.country) || !hasBeneficiary) {
                revert RetirementInvalidDetails(details.retirementType);
            }
            if (details.omgeBps >= _BPS) revert RetirementInvalidOmgeShare(details.omgeBps);
            // Rounded up: the atmosphere, not the holder, gets the fractional tonne.
            omgeAmount = uint64((uint256(amount) * details.omgeBps + _BPS - 1) / _BPS);
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
        IssuedBlock[] memory issuedBlocks = _mintBlocks($, p, programmeId, parts, p.serialStart + issued);
        p.creditIssued = issued + amount;
        emit CreditsIssued(programmeId, ref, amount, issued + amount, issuedBlocks);
    }

    /// @dev Cuts consecutive blocks from `firstSerial`, one per owner with a non-zero part, in owner order. The cursor
    /// moves to the serial after a block only when another block follows: after the last one it would be 2^64 when
    /// the issuance ends at the last serial.
    function _mintBlocks(
        RegistryStorage storage $,
        Programme storage p,
        uint40 programmeId,
        uint64[] memory parts,
        uint64 firstSerial
    ) private returns (IssuedBlock[] memory issuedBlocks) {
        uint256 nonZero;
        for (uint256 i = 0; i < parts.length; ++i) {
            if (parts[i] != 0) ++nonZero;
        }
        issuedBlocks = new IssuedBlock[](nonZero);
        uint64 nextSerial = firstSerial;
        uint256 k;
        for (uint256 i = 0; i < parts.length; ++i) {
            if (parts[i] == 0) continue;
            uint40 owner = p.owners[i];
            issuedBlocks[k++] = _appendBlock($, p.holdings[owner], programmeId, owner, nextSerial, parts[i]);
            if (k < nonZero) nextSerial += parts[i];
        }
    }

    /// @dev New serials exceed every serial already issued in the programme, so the block goes last in the list.
    /// `size` is at least 1 and `start + (size - 1)` is at most the programme's serialEnd, so the end never overflows.
    function _appendBlock(
        RegistryStorage storage $,
        Holding storage holding,
        uint40 programmeId,
        uint40 owner,
        uint64 start,
        uint64 size
    ) private returns (IssuedBlock memory) {
        uint64 end = start + (size - 1);
        $.blocks[end] = Block({
            start: start,
            next: 0,
            programmeId: programmeId,
            holder: owner,
            state: BlockState.Held,
            retirementId: 0
        });
        if (holding.tail == 0) holding.head = end;
        else $.blocks[holding.tail].next = end;
        holding.tail = end;
        holding.balance += size;
        return IssuedBlock({holder: owner, start: start, end: end});
    }

    /// @dev Detaches `amount` credits from the front of `holding` (lowest serials first), splitting the last block,
    /// and hands them to `newHolder` in `newState`. The caller has checked the balance. A block's size
    /// `(end - start) + 1` fits in uint64 because serials start at 1, and `covered` never exceeds the holding's
    /// balance, so neither overflows at the end of the serial range.
    function _take(
        RegistryStorage storage $,
        Holding storage holding,
        uint64 amount,
        uint40 newHolder,
        BlockState newState,
        uint40 retirementId
    ) private returns (BlockMove[] memory moves) {
        uint256 count;
        uint64 covered;
        for (uint64 id = holding.head; covered < amount; id = $.blocks[id].next) {
            covered += id - $.blocks[id].start + 1;
            ++count;
        }
        moves = new BlockMove[](count);
        uint64 remaining = amount;
        uint64 cursor = holding.head;
        for (uint256 i = 0; i < count; ++i) {
            Block storage b = $.blocks[cursor];
            uint64 start = b.start;
            uint64 size = cursor - start + 1;
            if (size <= remaining) {
                moves[i] = BlockMove({start: start, end: cursor, sourceEnd: cursor});
                remaining -= size;
                uint64 next = b.next;
                b.holder = newHolder;
                b.state = newState;
                b.next = 0;
                b.retirementId = retirementId;
                cursor = next;
            } else {
                moves[i] = _splitFront($, cursor, remaining, newHolder, newState, retirementId);
                remaining = 0;
            }
        }
        holding.head = cursor;
        if (cursor == 0) holding.tail = 0;
        holding.balance -= amount;
    }

    /// @dev Cuts the first `size` serials of block `blockEnd` into a new block for `newHolder` in `newState`; the
    /// source block keeps the rest (and its id). `size` is positive and smaller than the block (the caller splits only
    /// then), so `splitEnd < blockEnd` and `splitEnd + 1` cannot overflow even when `blockEnd` is the last serial.
    function _splitFront(
        RegistryStorage storage $,
        uint64 blockEnd,
        uint64 size,
        uint40 newHolder,
        BlockState newState,
        uint40 retirementId
    ) private returns (BlockMove memory) {
        Block storage source = $.blocks[blockEnd];
        uint64 start = source.start;
        uint64 splitEnd = start + (size - 1);
        $.blocks[splitEnd] = Block({
            start: start,
            next: 0,
            programmeId: source.programmeId,
            holder: newHolder,
            state: newState,
            retirementId: retirementId
        });
        source.start = splitEnd + 1;
        return BlockMove({start: start, end: splitEnd, sourceEnd: blockEnd});
    }

    /// @dev Links moved blocks (ascending, disjoint from the holding) into `holding`, keeping it sorted by serial.
    function _link(RegistryStorage storage $, Holding storage holding, BlockMove[] memory moves, uint64 amount) private {
        uint64 previous;
        for (uint256 i = 0; i < moves.length; ++i) {
            uint64 id = moves[i].end;
            uint64 tail = holding.tail;
            if (tail == 0) {
                holding.head = id;
                holding.tail = id;
            } else if (tail < id) {
                $.blocks[tail].next = id;
                holding.tail = id;
            } else if (previous == 0 && holding.head > id) {
                $.blocks[id].next = holding.head;
                holding.head = id;
            } else {
                uint64 cursor = previous == 0 ? holding.head : previous;
                uint64 next = $.blocks[cursor].next;
                while (next != 0 && next < id) {
                    cursor = next;
                    next = $.blocks[cursor].next;
                }
                $.blocks[id].next = next;
                $.blocks[cursor].next = id;
            }
            previous = id;
        }
        holding.balance += amount;
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
            credits.moves = _take($, holding, amount - omgeAmount, credits.governmentAccount, state, retirementId);
        }
        if (omgeAmount != 0) {
            credits.omgeMoves =
                _take($, holding, omgeAmount, credits.governmentAccount, BlockState.RetiredOmge, retirementId);
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
