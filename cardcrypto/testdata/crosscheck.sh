#!/usr/bin/env bash
# Independent cross-check of the contract's chip chain (section 7 steps 1-3
# and the ARPC) with OpenSSL's DES, for the one combination no public test
# suite covers: Option A -> common session key from the ATC -> ARQC over
# the contract's data with the CVR -> ARPC method 1 with an ASCII ARC.
# cardcrypto's TestContractChain expects what this prints. Test keys only.
set -euo pipefail
IMK=0123456789ABCDEFFEDCBA9876543210
PAN=6210001234567890 PSN=01 ATC=0001
# ARQC data: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36 CVR(9F10[3:7])
IAD=06010A03A00000        # 9F10: length 06, DKI 01, CVN 0A, CVR 03A00000
DATA=000000001250000000000000015600000000000156251123001234567818000001${IAD:6:8}

ede() { printf %s "$2" | xxd -r -p | openssl enc -des-ede -K "$1" -nopad | xxd -p -c 256 | tr a-f A-F; }
des() { printf %s "$3" | xxd -r -p | openssl enc -des-ecb $1 -K "$2" -nopad -provider legacy -provider default | xxd -p -c 256 | tr a-f A-F; }
xor() { python3 -c "import sys;a,b=bytes.fromhex(sys.argv[1]),bytes.fromhex(sys.argv[2]);print(bytes(x^y for x,y in zip(a,b)).hex().upper())" "$1" "$2"; }
parity() { python3 -c "import sys;print(bytes((b&0xFE)|(bin(b&0xFE).count('1')%2==0) for b in bytes.fromhex(sys.argv[1])).hex().upper())" "$1"; }

Y=$(printf %s "$PAN$PSN" | tail -c 16)
MK=$(parity "$(ede $IMK "$Y$(xor $Y FFFFFFFFFFFFFFFF)")")
SK=$(parity "$(ede $MK "${ATC}F00000000000${ATC}0F0000000000")")
# MAC algorithm 3, padding 2: CBC-DES under K1, last block D(K2) then E(K1).
P=$(python3 -c "import sys;d=bytes.fromhex(sys.argv[1])+b'\x80';d+=b'\0'*(-len(d)%8);print(d.hex())" "$DATA")
H=$(printf %s "$P" | xxd -r -p | openssl enc -des-cbc -K "${SK:0:16}" -iv 0000000000000000 -nopad -provider legacy -provider default | xxd -p -c 256 | tail -c 17 | tr a-f A-F)
ARQC=$(des "" "${SK:0:16}" "$(des -d "${SK:16:16}" "$H")")
ARPC=$(ede $SK "$(xor $ARQC 3030000000000000)")
echo "MK=$MK"
echo "SK=$SK"
echo "DATA=$DATA"
echo "ARQC=$ARQC"
echo "ARPC=$ARPC"
