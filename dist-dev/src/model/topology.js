export {};
//# sourceMappingURL=topology.js.map