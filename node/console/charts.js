// Hand-written SVG charts (being written).
export {};
