// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {CarbonRegistryStorage} from "./CarbonRegistryStorage.sol";
import {ICarbonRegistry} from "./interfaces/ICarbonRegistry.sol";
import {Apportionment} from "./libraries/Apportionment.sol";

/// @title Programme registration of the national carbon registry, run by delegatecall
/// @notice `CarbonRegistry.createProgramme` checks the caller's role and runs this code in the registry's own storage
/// (ADR 0015): programme registration is large and rare, and the registry's code must stay under the 24,576-byte
/// limit. Each `CarbonRegistry` implementation deploys its own copy in its constructor and keeps the address as an
/// immutable, so an upgrade replaces both together.
/// @dev Called directly (not through the registry), it refuses every call: it has no role storage of its own.
contract CarbonRegistryProgrammes is CarbonRegistryStorage {
    address private immutable _self = address(this);

    /// @notice See `ICarbonRegistry.createProgramme`; only by delegatecall from the registry, after its role check.
    function createProgramme(ProgrammeInput calldata input, bytes32 requestRef) external returns (uint40 programmeId) {
        if (address(this) == _self) revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, REGISTRAR_ROLE);
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
        emit ICarbonRegistry.ProgrammeCreated(programmeId, requestRef, input);
    }

    /// @dev Every field rule of {ProgrammeInput}; the external id's uniqueness is checked by the caller.
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
}
