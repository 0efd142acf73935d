// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/// @title Proxy in front of the registry implementation
/// @notice Plain OpenZeppelin ERC-1967 proxy; the implementation (UUPS) decides who may upgrade it.
contract RegistryProxy is ERC1967Proxy {
    /// @param implementation The first implementation.
    /// @param data The `initialize` call to run through the proxy.
    constructor(address implementation, bytes memory data) payable ERC1967Proxy(implementation, data) {}
}
