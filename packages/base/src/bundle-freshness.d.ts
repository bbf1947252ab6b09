export declare function bundleInputsFile(bundle: string): string;
export declare function bundleIsFresh(bundle: string): boolean;
