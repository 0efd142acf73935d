// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Exact split of whole credits by ownership share
/// @notice Largest-remainder (Hamilton) apportionment: each owner gets floor(amount * share / 1e6); the leftover
/// tonnes (fewer than the number of owners) go one each to the owners with the largest remainders
/// `amount * share mod 1e6`, ties to the earlier owner. The parts always sum to `amount`.
library Apportionment {
    /// @notice Shares are expressed in parts per million.
    uint32 internal constant PPM = 1_000_000;

    /// @notice Splits `amount` by `sharesPpm` (which sum to 1e6).
    /// @return parts The tonnes for each owner, in owner order.
    function split(uint64 amount, uint32[] storage sharesPpm) internal view returns (uint64[] memory parts) {
        uint256 n = sharesPpm.length;
        parts = new uint64[](n);
        uint256[] memory remainders = new uint256[](n);
        uint256 given;
        for (uint256 i = 0; i < n; ++i) {
            uint256 scaled = uint256(amount) * sharesPpm[i];
            parts[i] = uint64(scaled / PPM);
            remainders[i] = scaled % PPM;
            given += parts[i];
        }
        uint256 leftover = amount - given;
        for (uint256 k = 0; k < leftover; ++k) {
            uint256 best = 0;
            for (uint256 i = 1; i < n; ++i) {
                if (remainders[i] > remainders[best]) best = i;
            }
            parts[best] += 1;
            // A share can win only one leftover tonne: leftover < n, and every winner drops out.
            remainders[best] = 0;
            // Owners with remainder 0 never win while a positive remainder exists; if all are 0, leftover is 0.
        }
    }
}
