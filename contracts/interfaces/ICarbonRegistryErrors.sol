// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ICarbonRegistryTypes} from "./ICarbonRegistryTypes.sol";

/// @title Custom errors of the national carbon registry
/// @notice Named `<Component><Problem>(args)` in the spirit of EIP-6093; arguments carry the values a client needs to
/// explain the refusal. Access control and pause errors are OpenZeppelin's own
/// (`AccessControlUnauthorizedAccount`, `EnforcedPause`, `ExpectedPause`).
interface ICarbonRegistryErrors {
    /// @notice The request reference is zero.
    error RegistryInvalidRequestReference();
    /// @notice The request reference was already applied to this same call (same function and arguments): a retry.
    /// The write happened once; a caller treats this as success. A reference applied before implementation 1.1.0
    /// (no call digest recorded) answers this for any call.
    error RegistryRequestAlreadyApplied(bytes32 requestRef);
    /// @notice The request reference was already applied to a different call: `appliedCallDigest` is the
    /// keccak256 of that call's calldata. Nothing was done; a new write needs a new reference.
    error RegistryRequestReferenceReused(bytes32 requestRef, bytes32 appliedCallDigest);
    /// @notice The account id is zero or otherwise unusable.
    error RegistryInvalidAccount(uint40 account);
    /// @notice The account is frozen (its organisation is suspended) and cannot send, retire or certify.
    error RegistryAccountFrozen(uint40 account);
    /// @notice The account is not frozen, so it cannot be unfrozen.
    error RegistryAccountNotFrozen(uint40 account);
    /// @notice The programme's estimate does not fit in the country's remaining serials (`serialsLeft`, up to
    /// 2^64 - 1): authorising it would reserve serials past the last one.
    error RegistrySerialsExhausted(uint40 programmeId, uint64 creditEstimate, uint64 serialsLeft);

    /// @notice No programme has this id.
    error ProgrammeNotFound(uint40 programmeId);
    /// @notice Another programme already uses this external id.
    error ProgrammeExternalIdTaken(string externalId, uint40 programmeId);
    /// @notice The external id is empty or longer than 64 bytes.
    error ProgrammeInvalidExternalId();
    /// @notice The sectoral scope is not 1..15 or not admitted for the sector.
    error ProgrammeInvalidSectoralScope(ICarbonRegistryTypes.Sector sector, uint8 sectoralScope);
    /// @notice The programme's country is not the registry's country.
    error ProgrammeInvalidCountry(bytes2 country, bytes2 registryCountry);
    /// @notice The credit unit is empty.
    error ProgrammeInvalidCreditUnit();
    /// @notice The programme ends before or when it starts.
    error ProgrammeInvalidPeriod(uint64 startTime, uint64 endTime);
    /// @notice The details hash (SHA-256 of the programme's off-chain details) is zero.
    error ProgrammeInvalidDetailsHash();
    /// @notice The credit estimate is zero.
    error ProgrammeInvalidCreditEstimate(uint64 creditEstimate);
    /// @notice Owners and shares are empty, of different lengths, or more than the maximum.
    error ProgrammeInvalidOwners(uint256 owners, uint256 shares, uint256 maxOwners);
    /// @notice An owner id is zero or appears twice.
    error ProgrammeInvalidOwner(uint40 owner);
    /// @notice An owner's share is zero, or the shares do not sum to 1,000,000 ppm.
    error ProgrammeInvalidShares(uint256 sumPpm);
    /// @notice The programme is not in a stage that allows the call (illegal transition).
    error ProgrammeInvalidStage(
        uint40 programmeId, ICarbonRegistryTypes.ProgrammeStage current, ICarbonRegistryTypes.ProgrammeStage required
    );
    /// @notice The programme was rejected; nothing more can happen to it.
    error ProgrammeRejectedTerminal(uint40 programmeId);
    /// @notice Issuing `requested` more credits would exceed the programme's estimate.
    error ProgrammeEstimateExceeded(uint40 programmeId, uint64 issued, uint64 requested, uint64 estimate);
    /// @notice The certifier already certifies the programme.
    error ProgrammeAlreadyCertified(uint40 programmeId, uint40 certifier);
    /// @notice The certifier does not certify the programme.
    error ProgrammeNotCertified(uint40 programmeId, uint40 certifier);

    /// @notice The amount of credits is zero.
    error CreditsInvalidAmount();
    /// @notice The holder holds fewer credits of the programme than needed.
    error CreditsInsufficientBalance(uint40 programmeId, uint40 holder, uint64 balance, uint64 needed);
    /// @notice Sender and receiver are the same account.
    error CreditsSelfTransfer(uint40 account);

    /// @notice The retirement details do not fit its type (country/beneficiary/OMGE share).
    error RetirementInvalidDetails(ICarbonRegistryTypes.RetirementType retirementType);
    /// @notice The OMGE rate is 10,000 bps (100%) or more: it would take every credit of a cross-border retirement.
    /// Below that, the OMGE share of `amount` credits is floor(amount * omgeBps / 10,000), so it never exceeds the
    /// rate and never takes a whole retirement.
    error RetirementInvalidOmgeShare(uint16 omgeBps);
    /// @notice A cross-border retirement states an OMGE rate (`omgeBps`) other than the registry's (`omgeRate`): the
    /// rate changed since the retirement was requested. Nothing was done; request it again at the current rate.
    error RetirementOmgeRateMismatch(uint16 omgeBps, uint16 omgeRate);
    /// @notice No retirement has this id.
    error RetirementNotFound(uint40 retirementId);
    /// @notice No serial block ends at this serial.
    error BlockNotFound(uint64 blockEnd);
}
