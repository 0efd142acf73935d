// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CarbonRegistry} from "../CarbonRegistry.sol";

/// @title Test-only second implementation
/// @notice Used by the upgrade test to show an upgrade keeps every programme, block and balance. Not deployed.
contract CarbonRegistryUpgradeProbe is CarbonRegistry {
    /// @notice Reports the new implementation's version.
    function version() external pure override returns (string memory) {
        return "2.0.0-probe";
    }

    /// @notice A function the first implementation does not have.
    function upgradeProbe() external pure returns (bool) {
        return true;
    }
}
