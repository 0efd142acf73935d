// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Shared types of the national carbon registry
/// @notice Enumerations and structs used in the registry's functions, events and views.
/// @dev Amounts are whole tonnes of CO2e: one credit is one tonne and carries exactly one serial number.
interface ICarbonRegistryTypes {
    /// @notice Life-cycle stage of a mitigation programme.
    enum ProgrammeStage {
        None,
        AwaitingAuthorization,
        Authorised,
        Rejected
    }

    /// @notice Economic sector of a programme (reference registry's `Sector` enumeration, same order).
    enum Sector {
        Energy,
        Health,
        Education,
        Transport,
        Manufacturing,
        Hospitality,
        Forestry,
        Waste,
        Agriculture,
        Other
    }

    /// @notice Why credits were retired.
    enum RetirementType {
        CrossBorder,
        LegalAction,
        Other
    }

    /// @notice Where a serial block is: held by an account, or retired into one of the Government's accounts.
    /// @dev Cross-border retirements land in `RetiredInternational`, the others in `RetiredLocal`; the OMGE share
    /// of a cross-border retirement lands in `RetiredOmge`. Every `Retired*` state is terminal.
    enum BlockState {
        None,
        Held,
        RetiredInternational,
        RetiredLocal,
        RetiredOmge
    }

    /// @notice Everything needed to register a programme.
    /// @param externalId Identifier of the programme in the submitting system (MRV or other); unique.
    /// @param sector Economic sector; must admit `sectoralScope`.
    /// @param sectoralScope CDM sectoral scope, 1..15.
    /// @param country ISO 3166-1 alpha-2 code; must be the registry's country.
    /// @param creditUnit Unit shown in serial numbers, e.g. "ITMO" (ASCII, left-aligned, zero padded).
    /// @param startTime Programme start, Unix seconds; its calendar year is the serial number's year.
    /// @param endTime Programme end, Unix seconds; after `startTime`.
    /// @param creditEstimate Credits the programme may ever issue; size of its serial range.
    /// @param owners Organisation ids of the proponents, no duplicates, no zero id.
    /// @param sharesPpm Each owner's share in parts per million; they sum to 1,000,000.
    /// @param regions Names of the regions where the programme takes place (published in the event, not stored).
    /// @param detailsHash SHA-256 of the canonical JSON of the programme's off-chain details (title, properties...),
    /// which the node keeps in its database; anchors them on chain. Must not be zero.
    struct ProgrammeInput {
        string externalId;
        Sector sector;
        uint8 sectoralScope;
        bytes2 country;
        bytes8 creditUnit;
        uint64 startTime;
        uint64 endTime;
        uint64 creditEstimate;
        uint40[] owners;
        uint32[] sharesPpm;
        string[] regions;
        bytes32 detailsHash;
    }

    /// @notice Details of a retirement.
    /// @param retirementType Cross-border, legal action or other.
    /// @param country Receiving country (ISO 3166-1 alpha-2) of a cross-border retirement; zero otherwise.
    /// @param beneficiary Receiving party of a cross-border retirement; empty otherwise.
    /// @param omgeBps Share for the Overall Mitigation in Global Emissions, in basis points: for a cross-border
    /// retirement it must equal the registry's OMGE rate (`omgeRate()`, set by `setOmgeRate`), so a retirement
    /// approved at one rate never executes at another (`RetirementOmgeRateMismatch`); zero for the other types.
    struct RetirementInput {
        RetirementType retirementType;
        bytes2 country;
        string beneficiary;
        uint16 omgeBps;
    }

    /// @notice One serial block `[start, end]` created by an issuance.
    /// @dev A block is identified by its last serial `end`, which never changes: blocks are only cut from the front.
    struct IssuedBlock {
        uint40 holder;
        uint64 start;
        uint64 end;
    }

    /// @notice One range `[start, end]` moved by a transfer or retirement, in serial order.
    /// @dev If `end == sourceEnd` the whole source block moved in place. Otherwise the source block `sourceEnd` was
    /// split: `[start, end]` is a new block (id `end`) and the source block now starts at `end + 1`.
    struct BlockMove {
        uint64 start;
        uint64 end;
        uint64 sourceEnd;
    }

    /// @notice Two adjacent held blocks of one holder became one (ADR 0015): block `end` now spans `[start, end]`
    /// (its id, the last serial, is unchanged) and block `removedEnd`, the adjacent block it absorbed, no longer
    /// exists. Listed in the order they happened; applying them in order after the event's blocks or moves gives
    /// the holder's blocks exactly.
    struct BlockMerge {
        uint64 start;
        uint64 end;
        uint64 removedEnd;
    }

    /// @notice What a retirement moved.
    /// @param governmentAccount The Government organisation whose accounts received the credits.
    /// @param amount Credits retired, OMGE share included.
    /// @param omgeAmount Credits of `amount` retired into the OMGE account.
    /// @param moves Ranges retired into the international (cross-border) or local account, in serial order.
    /// @param omgeMoves Ranges retired into the OMGE account, in serial order.
    struct RetiredCredits {
        uint40 governmentAccount;
        uint64 amount;
        uint64 omgeAmount;
        BlockMove[] moves;
        BlockMove[] omgeMoves;
    }

    /// @notice Read model of a programme.
    /// @dev `detailsHash` is the latest anchored SHA-256 of the off-chain details (zero only for a programme created
    /// by an implementation older than 1.1.0 and never updated since).
    struct ProgrammeView {
        uint40 programmeId;
        ProgrammeStage stage;
        string externalId;
        Sector sector;
        uint8 sectoralScope;
        bytes2 country;
        bytes8 creditUnit;
        uint64 startTime;
        uint64 endTime;
        uint64 creditEstimate;
        uint64 creditIssued;
        uint64 creditRetired;
        uint64 serialStart;
        uint64 serialEnd;
        uint40[] owners;
        uint32[] sharesPpm;
        uint40[] certifiers;
        bytes32 detailsHash;
    }

    /// @notice Read model of a serial block; `end` is its id.
    struct BlockView {
        uint64 start;
        uint64 end;
        uint40 programmeId;
        uint40 holder;
        BlockState state;
        uint40 retirementId;
    }

    /// @notice Read model of a retirement.
    /// @dev `beneficiary` is stored since implementation 1.2.0; it is empty for retirements recorded before (their
    /// beneficiary is in the `CreditsRetired` event only) and for retirements that are not cross-border.
    struct RetirementView {
        uint40 retirementId;
        uint40 programmeId;
        uint40 from;
        RetirementType retirementType;
        bytes2 country;
        uint64 amount;
        uint64 omgeAmount;
        string beneficiary;
    }
}
