// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Plain OpenZeppelin ERC-20, the gas baseline of the benchmark
/// @notice Not part of the registry; `bench.gas` compares a split transfer against its `transfer`.
contract BaselineToken is ERC20 {
    /// @param supply Tokens minted to the deployer.
    constructor(uint256 supply) ERC20("Baseline", "BASE") {
        _mint(msg.sender, supply);
    }
}
