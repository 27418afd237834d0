/**
 * The joining side of Z-Wave S2 bootstrapping for a zwave-js 15.15 MockNode (SDS13783, "Security
 * 2 Command Class": KEX Get/Report, KEX Set, Public Key Report both ways, KEX Set echo, then per
 * granted key Network Key Get/Report/Verify and Transfer End), and S2 encapsulation of the
 * node's traffic once it is included. zwave-js 15.15's mock nodes have none of this (their S2
 * support arrived in later releases, which need Node 22), so the test peer brings its own.
 *
 * The node's ECDH key pair is made before the inclusion: its DSK is the first 16 bytes of the
 * public key, the PIN printed on a real device is the DSK's first 5 digits (its first 2 bytes),
 * which an authenticated joining node blanks when it sends its key: the controller's user types
 * them in. A wrong PIN gives the two sides different shared secrets and the key exchange fails.
 */
import {
  CommandClass,
  ECDHProfiles,
  InvalidCC,
  KEXSchemes,
  Security2CC,
  Security2CCCommandsSupportedGet,
  Security2CCCommandsSupportedReport,
  Security2CCKEXFail,
  Security2CCKEXGet,
  Security2CCKEXReport,
  Security2CCKEXSet,
  Security2CCMessageEncapsulation,
  Security2CCNetworkKeyGet,
  Security2CCNetworkKeyReport,
  Security2CCNetworkKeyVerify,
  Security2CCNonceGet,
  Security2CCNonceReport,
  Security2CCPublicKeyReport,
  Security2CCTransferEnd,
} from 'zwave-js';
import {
  CommandClasses,
  EncapsulationFlags,
  SecurityClass,
  SecurityManager2,
  TransmitOptions,
  ZWaveErrorCodes,
  computePRK,
  deriveSharedECDHSecret,
  deriveTempKeys,
  dskToString,
  generateECDHKeyPair,
} from '@zwave-js/core';
import { SendDataBridgeRequest, SendDataRequest } from '@zwave-js/serial/serialapi';
import { MockZWaveFrameType, createMockZWaveRequestFrame, type MockController, type MockControllerBehavior, type MockNode, type MockNodeBehavior, type MockNodeResponse, type MockZWaveFrame } from '@zwave-js/testing';

/** Where this node is in its key exchange with the controller. */
type Exchange =
  | { step: 'asked' }
  | { step: 'keys-granted'; granted: SecurityClass[] }
  | { step: 'requesting'; granted: SecurityClass[]; keys: Map<SecurityClass, Uint8Array> }
  | { step: 'verifying'; granted: SecurityClass[]; keys: Map<SecurityClass, Uint8Array>; current: SecurityClass }
  | { step: 'ending'; granted: SecurityClass[]; keys: Map<SecurityClass, Uint8Array> };

export interface S2Identity {
  keyPair: { publicKey: Uint8Array; privateKey: Uint8Array };
  /** 40 digits in 8 blocks: 12345-…; the first block is the PIN. */
  dsk: string;
  pin: string;
  /** The security classes the node asks for. */
  requested: SecurityClass[];
}

export async function makeS2Identity(requested: SecurityClass[]): Promise<S2Identity> {
  const keyPair = await generateECDHKeyPair();
  const dsk = dskToString(keyPair.publicKey.subarray(0, 16));
  return { keyPair, dsk, pin: dsk.slice(0, 5), requested };
}

/** Gives `node` a security manager and the behaviours of an S2 device joining the network. */
export async function makeS2Joiner(node: MockNode, identity: S2Identity): Promise<void> {
  node.securityManagers.securityManager2 = await SecurityManager2.create();
  const exchanges = new WeakMap<MockNode, Exchange>();
  const sm = (self: MockNode) => self.securityManagers.securityManager2!;
  const encap = (self: MockNode, cc: CommandClass, securityClass?: SecurityClass) =>
    Security2CC.encapsulate(cc, self.id, self.securityManagers, securityClass !== undefined ? { securityClass } : undefined);
  const nonceReport = async (controller: MockController, self: MockNode): Promise<MockNodeResponse> => ({
    action: 'sendCC',
    cc: new Security2CCNonceReport({ nodeId: controller.ownNodeId, SOS: true, MOS: false, receiverEI: await sm(self).generateNonce(controller.ownNodeId) }),
  });
  /** Before the node's first encrypted command on a fresh key: get the controller's entropy. */
  const askNonce = async (controller: MockController, self: MockNode) => {
    await self.sendToController(createMockZWaveRequestFrame(new Security2CCNonceGet({ nodeId: controller.ownNodeId }), { ackRequested: false }));
    await self.expectControllerFrame(
      5000,
      (f): f is MockZWaveFrame => f.type === MockZWaveFrameType.Request && f.payload instanceof Security2CCNonceReport && f.payload.SOS,
    );
  };
  const pin = Number(identity.pin);
  const keyForAuthenticated = identity.requested.some((c) => c === SecurityClass.S2_Authenticated || c === SecurityClass.S2_AccessControl);

  const behaviors: MockNodeBehavior[] = [
    {
      // Unwrap what the controller sends encrypted; answer encrypted what came encrypted.
      transformIncomingCC(_controller, _self, cc) {
        if (cc instanceof Security2CCMessageEncapsulation && cc.encapsulated) {
          cc.encapsulated.toggleEncapsulationFlag(EncapsulationFlags.Security, true);
          return cc.encapsulated;
        }
        return cc;
      },
      transformResponse(_controller, self, received, response) {
        if (response.action === 'sendCC' && received.isEncapsulatedWith(CommandClasses['Security 2']) && !(response.cc instanceof Security2CCMessageEncapsulation)) {
          return { ...response, cc: encap(self, response.cc) };
        }
        return response;
      },
    },
    {
      async handleCC(controller, self, cc) {
        const ownId = controller.ownNodeId;
        const state = exchanges.get(self);
        if (cc instanceof Security2CCKEXGet) {
          exchanges.set(self, { step: 'asked' });
          return {
            action: 'sendCC',
            cc: new Security2CCKEXReport({
              nodeId: ownId,
              echo: false,
              requestCSA: false,
              supportedKEXSchemes: [KEXSchemes.KEXScheme1],
              supportedECDHProfiles: [ECDHProfiles.Curve25519],
              requestedKeys: identity.requested,
            }),
          };
        }
        if (cc instanceof Security2CCKEXSet && !cc.echo && state?.step === 'asked') {
          exchanges.set(self, { step: 'keys-granted', granted: [...cc.grantedKeys] });
          // An authenticated joining node leaves out the PIN part of its key (SDS13783 3.6.7.x).
          const sent = Uint8Array.from(identity.keyPair.publicKey);
          if (keyForAuthenticated) sent.set([0, 0], 0);
          return { action: 'sendCC', cc: new Security2CCPublicKeyReport({ nodeId: ownId, includingNode: false, publicKey: sent }) };
        }
        if (cc instanceof Security2CCPublicKeyReport && cc.includingNode && state?.step === 'keys-granted') {
          // Both sides: ECDH(own private, peer public), then the PRK over (including, joining) keys.
          const own = Uint8Array.from(identity.keyPair.publicKey);
          if (keyForAuthenticated) new DataView(own.buffer).setUint16(0, pin); // what the controller fills in from the PIN
          const secret = await deriveSharedECDHSecret({ publicKey: cc.publicKey, privateKey: identity.keyPair.privateKey });
          const temp = await deriveTempKeys(await computePRK(secret, cc.publicKey, own));
          sm(self).deleteNonce(ownId);
          sm(self).tempKeys.set(ownId, { keyCCM: temp.tempKeyCCM, personalizationString: temp.tempPersonalizationString });
          // KEX Set echo under the temporary key. The controller cannot read it before its user
          // typed the PIN (zwave-js ignores it until then), so it is repeated, on a fresh nonce
          // each time, until the controller answers (KEX Report echo) or gives up (KEX Fail).
          void (async () => {
            for (let tries = 0; tries < 240 && exchanges.get(self) === state; tries++) {
              await askNonce(controller, self).catch(() => undefined);
              if (exchanges.get(self) !== state) break;
              const echo = new Security2CCKEXSet({
                nodeId: ownId,
                echo: true,
                permitCSA: false,
                selectedKEXScheme: KEXSchemes.KEXScheme1,
                selectedECDHProfile: ECDHProfiles.Curve25519,
                grantedKeys: state.granted,
              });
              await self.sendToController(createMockZWaveRequestFrame(encap(self, echo))).catch(() => undefined);
              await new Promise((r) => setTimeout(r, 500)); // ms
            }
          })();
          return { action: 'stop' };
        }
        if (cc instanceof Security2CCKEXFail) {
          exchanges.delete(self); // the controller aborted the key exchange (a wrong PIN, a timeout)
          sm(self).tempKeys.delete(ownId);
          return { action: 'stop' };
        }
        if (cc instanceof Security2CCKEXReport && cc.echo && cc.isEncapsulatedWith(CommandClasses['Security 2']) && state?.step === 'keys-granted') {
          const next: Exchange = { step: 'requesting', granted: state.granted, keys: new Map() };
          exchanges.set(self, next);
          return { action: 'sendCC', cc: encap(self, new Security2CCNetworkKeyGet({ nodeId: ownId, requestedKey: state.granted[0]! })) };
        }
        if (cc instanceof Security2CCNetworkKeyReport && cc.isEncapsulatedWith(CommandClasses['Security 2']) && state?.step === 'requesting') {
          state.keys.set(cc.grantedKey, Uint8Array.from(cc.networkKey));
          // Prove the key: Network Key Verify is sent encrypted with it, on a fresh nonce.
          self.encodingContext.setSecurityClass(ownId, cc.grantedKey, true);
          await sm(self).setKey(cc.grantedKey, cc.networkKey);
          exchanges.set(self, { ...state, step: 'verifying', current: cc.grantedKey });
          await askNonce(controller, self);
          return { action: 'sendCC', cc: encap(self, new Security2CCNetworkKeyVerify({ nodeId: ownId }), cc.grantedKey) };
        }
        if (cc instanceof Security2CCTransferEnd && cc.keyVerified && !cc.keyRequestComplete && state?.step === 'requesting') {
          const next = state.granted[state.keys.size];
          if (next !== undefined) return { action: 'sendCC', cc: encap(self, new Security2CCNetworkKeyGet({ nodeId: ownId, requestedKey: next })) };
          exchanges.set(self, { ...state, step: 'ending' });
          // Still under the temporary key; the permanent keys take over at the next nonce.
          return { action: 'sendCC', cc: encap(self, new Security2CCTransferEnd({ nodeId: ownId, keyVerified: false, keyRequestComplete: true })) };
        }
        if (cc instanceof Security2CCNonceGet) {
          if (state?.step === 'verifying') {
            // The controller goes back to the temporary key after the verification.
            self.encodingContext.setSecurityClass(ownId, state.current, false);
            sm(self).deleteNonce(ownId);
            exchanges.set(self, { step: 'requesting', granted: state.granted, keys: state.keys });
          } else if (state?.step === 'ending') {
            // Bootstrapping is over: the granted keys from now on, for both directions.
            for (const [cls, k] of state.keys) {
              self.encodingContext.setSecurityClass(ownId, cls, true);
              self.encodingContext.setSecurityClass(self.id, cls, true);
              await sm(self).setKey(cls, k);
            }
            sm(self).tempKeys.delete(ownId);
            sm(self).deleteNonce(ownId);
            exchanges.delete(self);
          }
          return nonceReport(controller, self);
        }
        if (cc instanceof InvalidCC && (cc.reason === ZWaveErrorCodes.Security2CC_CannotDecode || cc.reason === ZWaveErrorCodes.Security2CC_NoSPAN)) {
          return nonceReport(controller, self); // out of sync: offer a new nonce, as a real node does
        }
        if (cc instanceof Security2CCCommandsSupportedGet) {
          const wrapper = cc.getEncapsulatingCC(CommandClasses['Security 2']) as Security2CCMessageEncapsulation | undefined;
          if (!wrapper) return undefined;
          // Only at its highest granted class does a node list its secure command classes.
          const highest = wrapper.securityClass === self.encodingContext.getHighestSecurityClass(self.id);
          const supportedCCs = highest ? [...self.implementedCCs].filter(([id, info]) => info.secure && id !== CommandClasses['Security 2']).map(([id]) => id) : [];
          return { action: 'sendCC', cc: encap(self, new Security2CCCommandsSupportedReport({ nodeId: ownId, supportedCCs })) };
        }
        return undefined;
      },
    },
  ];
  node.defineBehavior(...behaviors);
}

/**
 * For the mock controller: zwave-js sends the S2 Transfer End that confirms a key without asking
 * for an ACK, and a real controller reports such a frame as transmitted; 15.15's mock reports
 * "no ACK" for it, which fails the key exchange. The frame is sent with ACK requested instead
 * (the node acknowledges it; nothing else changes).
 */
export const sendWithoutAckAsSent: MockControllerBehavior = {
  onHostMessage(_controller, msg) {
    if ((msg instanceof SendDataRequest || msg instanceof SendDataBridgeRequest) && msg.callbackId && !(msg.transmitOptions & TransmitOptions.ACK)) {
      msg.transmitOptions |= TransmitOptions.ACK;
    }
    return undefined; // the default behaviour sends it
  },
};
